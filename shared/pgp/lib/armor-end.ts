import { TransformStream } from 'node:stream/web';
import { PgpError } from '../errors.js';

/**
 * An armor header or footer line as OpenPGP.js splits on it (`-----BEGIN PGP MESSAGE-----`),
 * after its removal of trailing spaces and carriage returns.
 */
const ARMOR_LINE = /^-----[^-]+-----[ \t\r]*$/;

/** Longest line kept to be matched against {@link ARMOR_LINE}; a longer one is not an armor line. */
const MAX_ARMOR_LINE = 128;

export interface ArmorEndGuard {
  /** Passes the armored text through unchanged until it finds text after the armor's END line. */
  readonly stream: TransformStream<string, string>;
  /** The failure the stream errored with, if it did. */
  readonly failure: () => PgpError | undefined;
}

/**
 * Refuses anything but whitespace after the END line of an armored message. OpenPGP.js stops at
 * the first END line and ignores the rest, so a second armored message (or any data) appended to
 * a file would be silently dropped. The check runs as the text streams past, in constant memory:
 * only lines that begin with `-` are looked at, and text is never held back.
 *
 * The library reads everything after the last line of base64 before it releases that line, so
 * the refusal always comes before the message's integrity check can pass.
 */
export function armorEndGuard(): ArmorEndGuard {
  let failure: PgpError | undefined;
  let armorLines = 0;
  // The next character begins a line.
  let lineStart = true;
  // The current line so far (capped), when it begins with `-`.
  let dashLine: string | undefined;

  /** False once `text`, the next piece of the armored text, has something after the END line. */
  const scan = (text: string): boolean => {
    let i = 0;
    while (i < text.length) {
      // BEGIN and END seen: only whitespace may follow.
      if (armorLines >= 2) return !/\S/.test(text.slice(i));
      if (dashLine !== undefined) {
        const eol = text.indexOf('\n', i);
        const end = eol === -1 ? text.length : eol;
        if (dashLine.length <= MAX_ARMOR_LINE) dashLine += text.slice(i, Math.min(end, i + MAX_ARMOR_LINE + 1));
        if (eol === -1) {
          lineStart = false;
          return true;
        }
        if (ARMOR_LINE.test(dashLine)) armorLines++;
        dashLine = undefined;
        lineStart = true;
        i = eol + 1;
        continue;
      }
      if (lineStart && text[i] === '-') {
        dashLine = '';
        continue;
      }
      const next = text.indexOf('\n-', i);
      if (next === -1) {
        lineStart = text.endsWith('\n');
        return true;
      }
      lineStart = true;
      i = next + 1;
    }
    return true;
  };

  const stream = new TransformStream<string, string>({
    transform(chunk, controller) {
      if (scan(chunk)) {
        controller.enqueue(chunk);
        return;
      }
      failure = new PgpError('MALFORMED_PGP_MESSAGE');
      controller.error(failure);
    },
  });
  return { stream, failure: () => failure };
}
