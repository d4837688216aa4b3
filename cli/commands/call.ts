import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { writeBody } from './export.js';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * `cipherflow call METHOD PATH [--data JSON|@FILE|-] [--hpke]`: any endpoint with the saved
 * identity. The answer's body goes to stdout as is (JSON pretty-printed); a problem to stderr.
 */
export function registerCall(program: Command, ctx: CliContext): void {
  program
    .command('call <method> <path>')
    .description('call any endpoint (see GET /openapi.json); --hpke encrypts the body and the answer')
    .option('--data <json>', 'JSON body: inline, @file, or - for stdin')
    .option('--hpke', 'encrypt the request body and ask for an encrypted answer (HPKE, RFC 9180)')
    .action(async (method: string, path: string, opts: { data?: string; hpke?: boolean }) => {
      const verb = method.toUpperCase();
      if (!METHODS.has(verb)) throw new CliError(`unsupported method ${method}`, EXIT.USAGE);
      if (!path.startsWith('/')) throw new CliError('PATH must start with /', EXIT.USAGE);
      const body = opts.data === undefined ? undefined : await readData(opts.data);
      const api = await ctx.api({ hpke: opts.hpke === true });
      const res = await api.send(verb, path, body);
      const type = res.headers.get('content-type') ?? '';
      // A download (opened chunk by chunk when sealed) goes to stdout as it arrives.
      if (!type.includes('json')) {
        await writeBody(res, undefined, ctx.stdout);
        return;
      }
      const text = await res.text();
      if (text === '') return;
      try {
        ctx.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
      } catch {
        // Not JSON after all: printed as is.
        ctx.stdout.write(text);
      }
    });
}

async function readData(data: string): Promise<string> {
  let text: string;
  if (data === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else if (data.startsWith('@')) {
    try {
      text = await readFile(data.slice(1), 'utf8');
    } catch (err) {
      throw new CliError(
        `cannot read ${data.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        EXIT.ERROR,
        { cause: err },
      );
    }
  } else {
    text = data;
  }
  try {
    JSON.parse(text);
  } catch {
    throw new CliError('--data is not JSON', EXIT.USAGE);
  }
  return text;
}
