import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/** Most bytes read for one secret on stdin (the API takes connection strings up to 4,096 characters). */
export const MAX_STDIN_SECRET_BYTES = 16 * 1024;

/** What a secret is read from: `process.stdin`, or a stand-in in tests. */
export type SecretInput = AsyncIterable<Buffer | string> & { readonly isTTY?: boolean };

/**
 * Reads a secret piped on stdin (`--password-stdin`, as `docker login` does), so it never sits
 * on the command line or in the shell's history: everything up to the end of input, less one
 * trailing newline (`echo` and files written by editors end with one).
 *
 * @throws CliError exit 2 when stdin is a terminal (what is typed would be echoed), empty, or
 *   longer than {@link MAX_STDIN_SECRET_BYTES}.
 */
export async function readStdinSecret(option: string, input: SecretInput = process.stdin): Promise<string> {
  if (input.isTTY === true)
    throw new CliError(`${option} reads a pipe, not a terminal: e.g. ${option} < secret.txt`, EXIT.USAGE);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += bytes.length;
    if (total > MAX_STDIN_SECRET_BYTES)
      throw new CliError(`${option}: stdin holds more than ${MAX_STDIN_SECRET_BYTES} bytes`, EXIT.USAGE);
    chunks.push(bytes);
  }
  const secret = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (secret === '') throw new CliError(`${option}: nothing on stdin`, EXIT.USAGE);
  return secret;
}
