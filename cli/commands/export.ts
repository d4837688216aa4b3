import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

/**
 * `cipherflow export FILE_ID [--out F] [--hpke]`: downloads a committed file's plaintext. With
 * `--hpke` the answer travels as a sealed stream (`application/octet-stream+hpke-chunked`) opened
 * chunk by chunk; a stream cut short or tampered with fails (exit 1, with the client's code) and
 * leaves no `--out` file behind.
 */
export function registerExport(program: Command, ctx: CliContext): void {
  program
    .command('export <fileId>')
    .description('download a file of a batch (GET /data/foundation/export/files/ID); --hpke seals it as a stream')
    .option('--out <file>', 'write to this file (default: stdout)')
    .option('--hpke', 'ask for the file sealed to your HPKE client key (required when the org requires encryption)')
    .action(async (fileId: string, opts: { out?: string; hpke?: boolean }) => {
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(fileId)) throw new CliError('FILE_ID is not a file id', EXIT.USAGE);
      const api = await ctx.api({ hpke: opts.hpke === true });
      const res = await api.send('GET', `/data/foundation/export/files/${fileId}`);
      await writeBody(res, opts.out, ctx.stdout);
    });
}

/**
 * Streams an answer's body to `out` (through a temporary file renamed once complete) or to stdout.
 * @throws CliError exit 1 naming the HPKE client code when the body fails to open.
 */
export async function writeBody(res: Response, out: string | undefined, stdout: NodeJS.WritableStream): Promise<void> {
  if (res.body === null) return;
  const temporary = out === undefined ? undefined : `${out}.partial-${process.pid}`;
  const sink = temporary === undefined ? new Writable({ write: (chunk: Buffer, _enc, done) => void stdout.write(chunk, () => done()) }) : createWriteStream(temporary, { mode: 0o600 });
  try {
    await pipeline(res.body, sink);
  } catch (err) {
    if (temporary !== undefined) await rm(temporary, { force: true });
    const code = (err as { code?: unknown }).code;
    if (err instanceof Error && err.name === 'HpkeClientError' && typeof code === 'string') {
      throw new CliError(`HPKE: ${err.message} (${code}); ${temporary === undefined ? 'discard the output written so far' : 'nothing was written'}`, EXIT.ERROR, { cause: err });
    }
    throw new CliError(`the download failed: ${err instanceof Error ? err.message : String(err)}`, EXIT.NETWORK, { cause: err });
  }
  if (out !== undefined && temporary !== undefined) await rename(temporary, out);
}
