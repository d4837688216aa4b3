import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import type { GpgHome } from '../local/gpg.js';
import { csvSource } from './csv-source.js';

/** gpg's batch options for a benchmark home (`GpgHome.argv`), with the passphrase of its secret key. */
export function gpgArgs(home: GpgHome, passphrase: string, args: readonly string[]): string[] {
  return home.argv(args, passphrase);
}

/** Runs gpg to completion, rejecting with its stderr on a non-zero exit. */
export function runGpg(args: readonly string[], stdin?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`gpg ${args.slice(-4).join(' ')} exited ${code}: ${stderr}`)),
    );
    if (stdin !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => undefined);
      pipeline(stdin, child.stdin).catch(() => undefined);
    }
  });
}

/**
 * The customer's side: `gpg --encrypt` of a generated CSV of `size` bytes to `recipient`, streamed
 * into a file in the gpg home. `compression`: `none` (`--compress-algo none`) or `default` (no
 * option: gpg's default, ZLIB, unless the recipient's preferences say otherwise).
 */
export async function encryptCsvFile(
  home: GpgHome,
  recipient: string,
  size: number,
  compression: 'none' | 'default' | 'zlib',
  name: string,
): Promise<string> {
  const extra = compression === 'default' ? [] : ['--compress-algo', compression];
  return home.encryptToFile(csvSource(size), recipient, name, extra);
}
