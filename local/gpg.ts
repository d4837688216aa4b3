import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * GnuPG plays the customer in interoperability tests and benchmarks: a throwaway GNUPGHOME each, batch
 * mode, no agent prompts (loopback pinentry, empty passphrases) and `--trust-model always` so
 * imported keys are usable without a web of trust.
 */

let checked = false;

/**
 * Makes sure `gpg` is on the PATH. In CI (running as root) it installs Debian's `gnupg`; anywhere
 * else it fails with a message saying what to install, rather than installing behind your back.
 */
export function ensureGpg(): void {
  if (checked) return;
  if (gpgVersion() === undefined) {
    if (process.getuid?.() === 0) {
      execFileSync('apt-get', ['update'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'gnupg'], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
    if (gpgVersion() === undefined) {
      throw new Error(
        'gpg (GnuPG 2.2+) is required by the PGP interoperability tests: install it (Debian: `apt-get install -y gnupg`).',
      );
    }
  }
  checked = true;
}

function gpgVersion(): string | undefined {
  try {
    return execFileSync('gpg', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

export interface GpgResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** A temporary GnuPG home directory with helpers for the customer's side of the exchange. */
export class GpgHome {
  private constructor(readonly dir: string) {}

  static async create(): Promise<GpgHome> {
    ensureGpg();
    const dir = await mkdtemp(join(tmpdir(), 'cipherflow-gpg-'));
    return new GpgHome(dir);
  }

  /**
   * gpg's command line for this home: the home directory and batch options, then `args`.
   * `passphrase` answers the loopback pinentry (the keys generated here have none).
   */
  argv(args: readonly string[], passphrase = ''): string[] {
    return [
      '--homedir',
      this.dir,
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

  /** Runs gpg with the home directory and batch options; never throws on a non-zero exit. */
  run(args: readonly string[], stdin?: Buffer | string): Promise<GpgResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('gpg', this.argv(args), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
      // gpg may exit before reading all of stdin (EPIPE); its exit code and stderr tell why.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin ?? '');
    });
  }

  /** Like {@link run} but throws with gpg's stderr when gpg fails. */
  async ok(args: readonly string[], stdin?: Buffer | string): Promise<Buffer> {
    const r = await this.run(args, stdin);
    if (r.code !== 0) throw new Error(`gpg ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  async importKey(armored: string): Promise<void> {
    await this.ok(['--import'], armored);
  }

  /** Generates a key with `--quick-gen-key` and returns its fingerprint. */
  async generateKey(userId: string, algo: string, usage: string, expire: string): Promise<string> {
    await this.ok(['--quick-gen-key', userId, algo, usage, expire]);
    const listing = (await this.ok(['--with-colons', '--list-keys', userId])).toString('utf8');
    const fpr = listing
      .split('\n')
      .find((l) => l.startsWith('fpr:'))
      ?.split(':')[9];
    if (fpr === undefined) throw new Error(`no fingerprint for ${userId}`);
    return fpr;
  }

  async exportPublic(id: string): Promise<string> {
    return (await this.ok(['--armor', '--export', id])).toString('utf8');
  }

  async exportSecret(id: string): Promise<string> {
    return (await this.ok(['--armor', '--export-secret-keys', id])).toString('utf8');
  }

  /** `gpg --encrypt` of `data` to `recipient`, plus any extra options (`--armor`, `--sign`, ...). */
  async encrypt(data: Buffer | string, recipient: string, extra: readonly string[] = []): Promise<Buffer> {
    return this.ok(['--encrypt', '--recipient', recipient, ...extra, '--output', '-'], data);
  }

  /**
   * `gpg --encrypt` of `input` to `recipient`, streamed (never a whole Buffer) into the file `name`
   * inside the home directory; returns its path. `extra` options go before `--encrypt`
   * (`--compress-algo none`, ...). Rejects with gpg's stderr when gpg fails, or with the input's
   * error when the input fails (gpg would otherwise encrypt what it got as a whole file).
   */
  async encryptToFile(
    input: Readable,
    recipient: string,
    name: string,
    extra: readonly string[] = [],
  ): Promise<string> {
    const output = join(this.dir, name);
    const args = [...extra, '--encrypt', '--recipient', recipient, '--output', output];
    const child = spawn('gpg', this.argv(args), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const [fed, code] = await Promise.allSettled([pipeline(input, child.stdin), exited]);
    if (code.status === 'rejected') throw code.reason;
    if (code.value !== 0) throw new Error(`gpg ${args.join(' ')} failed (${code.value}): ${stderr}`);
    if (fed.status === 'rejected') throw fed.reason;
    return output;
  }

  /** Writes `data` to a file inside the home directory and returns its path (for large inputs). */
  async file(name: string, data: Buffer | string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, data);
    return path;
  }

  /** Stops the gpg-agent started for this home and deletes the directory. */
  async dispose(): Promise<void> {
    try {
      execFileSync('gpgconf', ['--homedir', this.dir, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    } catch {
      // No agent was started, or gpgconf is missing: the directory is removed either way.
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
