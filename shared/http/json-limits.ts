import { ValidationError } from '../errors.js';

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 32;
/** Longest JSON string (key or value), in UTF-16 code units after unescaping. */
export const MAX_JSON_STRING_LENGTH = 64 * 1024;

export interface JsonLimits {
  readonly maxDepth: number;
  readonly maxStringLength: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;
const OPENERS = new Set([0x7b, 0x5b]);
const CLOSERS = new Set([0x7d, 0x5d]);

/**
 * Scans JSON text for nesting depth and string length before `JSON.parse` builds anything, in one
 * pass without recursion. It does not validate the syntax (JSON.parse does that next); on
 * malformed input it may count wrongly but still terminates.
 *
 * @throws INVALID_REQUEST when a limit is exceeded.
 */
export function checkJsonLimits(text: string, limits: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxStringLength: MAX_JSON_STRING_LENGTH }): void {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let length = 0;
      i++;
      while (i < text.length && text.charCodeAt(i) !== QUOTE) {
        // An escape is one character of the decoded string: `\n` is 2 code units here, `\u0041` 6.
        if (text.charCodeAt(i) === BACKSLASH) i += text.charCodeAt(i + 1) === LOWER_U ? 6 : 2;
        else i++;
        if (++length > limits.maxStringLength) {
          throw new ValidationError(`A JSON string is longer than ${limits.maxStringLength} characters`);
        }
      }
    } else if (OPENERS.has(c)) {
      if (++depth > limits.maxDepth) throw new ValidationError(`JSON nesting is deeper than ${limits.maxDepth} levels`);
    } else if (CLOSERS.has(c)) {
      depth--;
    }
    i++;
  }
}
