import { ValidationError } from '../errors.js';
import { checkJsonLimits } from './json-limits.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a UTF-8 JSON body within the depth and string-length limits. Error details are our own
 * words plus the position JSON.parse reports: newer V8 messages quote the input, which must not be
 * echoed or logged.
 *
 * @throws INVALID_REQUEST for an empty body, invalid UTF-8, malformed JSON or a limit exceeded.
 */
export function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) throw new ValidationError('The request body is empty; a JSON document is required');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ValidationError('The request body is not valid UTF-8');
  }
  checkJsonLimits(text);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const position = err instanceof SyntaxError ? /at position (\d+)/.exec(err.message)?.[1] : undefined;
    throw new ValidationError(position === undefined ? 'The request body is not valid JSON' : `The request body is not valid JSON (at position ${position})`);
  }
}
