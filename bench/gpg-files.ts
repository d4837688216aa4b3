import { spawn } from 'node:child_process';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { GpgHome } from '../local/gpg.js';
import { csvSource } from './csv-source.js';

/** gpg's batch options for a benchmark home (as `GpgHome.run` sets them). */
export function gpgArgs(home: GpgHome, passphrase: string, args: readonly string[]): string[] {
  return [
    '--homedir',
    home.dir,
    '--batch',
    '--yes',
    '--no-tty',
    '--trust-model',
    'always',
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    passphrase,
    ...args,
  ];
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
  const file = path.join(home.dir, name);
  const extra = compression === 'default' ? [] : ['--compress-algo', compression];
  await runGpg(gpgArgs(home, '', [...extra, '--encrypt', '--recipient', recipient, '--output', file]), csvSource(size));
  return file;
}
