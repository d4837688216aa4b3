import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SftpSource } from '../../shared/sources/sftp-reader.js';

/**
 * A real OpenSSH server for the SFTP reader's tests: Debian's `sshd`, run as a child process with
 * its own configuration on a free loopback port, serving a throwaway folder through
 * `internal-sftp` in a chroot to one system user, who logs in with a real password (from the
 * shadow file: `UsePAM no`) or a real key.
 *
 * It needs root (a system user, a chroot, sshd's privilege separation), as CI has; several test
 * files may run servers at once (own folders and ports, one shared user whose password is the
 * same for every process on the machine).
 */

/** The system user every test server logs in. */
export const SFTP_USER = 'cfsftp';

const SSHD = '/usr/sbin/sshd';
/** Chroot folders must be root-owned and not writable by others all the way up, so not under /tmp (1777). */
const SERVERS_DIR = '/srv/cipherflow-sftp';
/** The user's password, shared by every process on this machine (two passwords would lock each other out). */
const PASSWORD_FILE = join(tmpdir(), 'cipherflow-sftp-password');
const PASSPHRASE = 'correct horse battery staple';
const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 10_000;

export interface SftpServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly userName: string;
  readonly password: string;
  /** An OpenSSH private key (ed25519, no passphrase) the server accepts for the user. */
  readonly privateKey: string;
  /** Another accepted key, encrypted with {@link SftpServer.passphrase}. */
  readonly encryptedPrivateKey: string;
  readonly passphrase: string;
  /** The host key's fingerprint as `ssh-keygen -lf hostkey.pub -E sha256` prints it. */
  readonly hostKeyFingerprint: string;
  /** The host's public key, as ssh-keygen wrote it: `ssh-ed25519 AAAA...`. */
  readonly hostPublicKey: string;
  /** The local folder the server serves at `/`; `${root}/upload` belongs to the user. */
  readonly root: string;
  /** What sshd wrote to stderr so far (`LogLevel DEBUG1`: every connection and login attempt). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts an sshd serving a fresh folder; installs `openssh-server` first when sshd is missing and
 * this runs as root. Throws, saying what to install or how to run, when it cannot.
 */
export async function startSftpServer(): Promise<SftpServer> {
  ensureSshd();
  if (process.getuid?.() !== 0) {
    throw new Error(
      'The SFTP tests run OpenSSH sshd with a system user and a chroot, which needs root: run them as root (CI does).',
    );
  }
  const password = await ensureUser();
  mkdirSync(SERVERS_DIR, { recursive: true, mode: 0o755 });
  chmodSync(SERVERS_DIR, 0o755);
  const dir = mkdtempSync(`${SERVERS_DIR}/`);
  try {
    return await startIn(dir, password);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A source for `server` in `folderPath`, logging in with the password unless `auth` says otherwise. */
export function sftpSource(server: SftpServer, folderPath: string, auth?: SftpSource['auth']): SftpSource {
  return {
    host: server.host,
    port: server.port,
    userName: server.userName,
    folderPath,
    auth: auth ?? { kind: 'password', password: server.password },
  };
}

async function startIn(dir: string, password: string): Promise<SftpServer> {
  const etc = join(dir, 'etc');
  const root = join(dir, 'root');
  // sshd reads the authorized keys as the user: the folder must be searchable, the file readable.
  mkdirSync(etc, { mode: 0o755 });
  mkdirSync(join(root, 'upload'), { recursive: true, mode: 0o755 });
  for (const d of [dir, etc, root]) chmodSync(d, 0o755);
  const uid = Number(execFileSync('id', ['-u', SFTP_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', SFTP_USER], { encoding: 'utf8' }).trim());
  chownSync(join(root, 'upload'), uid, gid);

  const keygen = (file: string, passphrase: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', '', '-f', join(etc, file)]);
  keygen('host_key', '');
  keygen('user_key', '');
  keygen('user_key_encrypted', PASSPHRASE);
  const authorizedKeys = join(etc, 'authorized_keys');
  writeFileSync(
    authorizedKeys,
    readFileSync(join(etc, 'user_key.pub'), 'utf8') + readFileSync(join(etc, 'user_key_encrypted.pub'), 'utf8'),
    { mode: 0o644 },
  );
  // "256 SHA256:... no comment (ED25519)"
  const hostKeyFingerprint =
    execFileSync('ssh-keygen', ['-lf', join(etc, 'host_key.pub'), '-E', 'sha256'], { encoding: 'utf8' }).split(
      ' ',
    )[1] ?? '';

  // sshd's privilege separation folder, which the package's service would otherwise make.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  let lastFailure = '';
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    // Another process may take the free port before sshd binds it: sshd then exits and we retry.
    const port = await freePort();
    const config = join(etc, 'sshd_config');
    writeFileSync(config, sshdConfig({ port, etc, root, authorizedKeys }));
    const started = await runSshd(config, port);
    if (typeof started === 'string') {
      lastFailure = started;
      continue;
    }
    const { child, log } = started;
    return {
      host: '127.0.0.1',
      port,
      userName: SFTP_USER,
      password,
      privateKey: readFileSync(join(etc, 'user_key'), 'utf8'),
      encryptedPrivateKey: readFileSync(join(etc, 'user_key_encrypted'), 'utf8'),
      passphrase: PASSPHRASE,
      hostKeyFingerprint,
      hostPublicKey: readFileSync(join(etc, 'host_key.pub'), 'utf8').trim(),
      root,
      log: () => log.join(''),
      stop: async () => {
        await stopSshd(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error(`sshd did not start after ${START_ATTEMPTS} attempts; last output:\n${lastFailure}`);
}

function sshdConfig(o: { port: number; etc: string; root: string; authorizedKeys: string }): string {
  return [
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(o.etc, 'host_key')}`,
    `PidFile ${join(o.etc, 'sshd.pid')}`,
    // Password logins check the shadow file: the user has a real password (chpasswd).
    'UsePAM no',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    'StrictModes no',
    'PermitRootLogin no',
    'LogLevel DEBUG1',
    // Tests log in wrongly on purpose, many times, from one address.
    'MaxStartups 100',
    'MaxAuthTries 6',
    ...(sshdVersion() >= 9.8 ? ['PerSourcePenalties no'] : []),
    'Subsystem sftp internal-sftp',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    // Match blocks run to the end of the file: keep it last.
    `Match User ${SFTP_USER}`,
    '  ForceCommand internal-sftp',
    `  ChrootDirectory ${o.root}`,
    '',
  ].join('\n');
}

/** Starts sshd in the foreground; answers the child once it listens, or what it said when it exited. */
function runSshd(config: string, port: number): Promise<{ child: ChildProcess; log: string[] } | string> {
  // Its own process group, so stop() ends the connection children sshd forks too.
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const log: string[] = [];
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let listening = false;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      resolve(`no "Server listening" within ${START_TIMEOUT_MS} ms:\n${log.join('')}`);
    }, START_TIMEOUT_MS);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      log.push(text);
      if (!listening && log.join('').includes(`Server listening on 127.0.0.1 port ${port}.`)) {
        listening = true;
        clearTimeout(timer);
        resolve({ child, log });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(`sshd exited (${code ?? signal}):\n${log.join('')}`);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(`sshd did not start: ${err.message}`);
    });
  });
}

async function stopSshd(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  // Connection children outlive the listener until their client goes: end them too.
  killGroup(child, 'SIGKILL');
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let sshdChecked = false;

/** Installs Debian's openssh-server when sshd is missing and this runs as root, like ensureGpg. */
function ensureSshd(): void {
  if (sshdChecked) return;
  if (!existsSync(SSHD) && process.getuid?.() === 0) {
    // Another test process may be installing it too: wait for dpkg's lock rather than fail.
    const apt = (...args: string[]) =>
      execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    try {
      apt('install', '-y', '--no-install-recommends', 'openssh-server');
    } catch {
      // Package lists may be missing or stale (a fresh container): refresh them once.
      apt('update');
      apt('install', '-y', '--no-install-recommends', 'openssh-server');
    }
  }
  if (!existsSync(SSHD)) {
    throw new Error(
      'OpenSSH sshd is required by the SFTP tests: install it (Debian: `apt-get install -y --no-install-recommends openssh-server`).',
    );
  }
  // sshd refuses to start without its privilege separation user ("Privilege separation user sshd
  // does not exist"); Debian's package makes it, an sshd copied in by hand may lack it.
  if (!userExists('sshd')) {
    throw new Error(
      "sshd needs its privilege separation user `sshd`: reinstall Debian's openssh-server (`apt-get install --reinstall openssh-server`).",
    );
  }
  sshdChecked = true;
}

let cachedVersion: number | undefined;

/** sshd's version as a number (`OpenSSH_9.2p1` → 9.2), from `ssh -V` of the same package set. */
function sshdVersion(): number {
  if (cachedVersion !== undefined) return cachedVersion;
  // sshd has no version flag before 9.x; the client of the same release prints it (to stderr).
  const out = spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr;
  const match = /OpenSSH_(\d+)\.(\d+)/.exec(out);
  cachedVersion = match === null ? 0 : Number(`${match[1]}.${match[2]}`);
  return cachedVersion;
}

let userReady: Promise<string> | undefined;

/** Makes the shared system user (once per process) and gives it the machine's password; returns it. */
function ensureUser(): Promise<string> {
  userReady ??= (async () => {
    await retry(() => {
      if (userExists(SFTP_USER)) return;
      try {
        execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', SFTP_USER], { stdio: 'pipe' });
      } catch (err) {
        // Another process made it first (exit 9), or held the lock on /etc/passwd (exit 10): look again.
        if (!userExists(SFTP_USER)) throw err;
      }
    });
    const password = await machinePassword();
    // Every process sets the same password: harmless when another process already did.
    await retry(() =>
      execFileSync('chpasswd', { input: `${SFTP_USER}:${password}\n`, stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    return password;
  })();
  return userReady;
}

function userExists(name: string): boolean {
  try {
    execFileSync('getent', ['passwd', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The one password of the test user on this machine: made by whichever process comes first (O_EXCL), read by the rest. */
async function machinePassword(): Promise<string> {
  try {
    writeFileSync(PASSWORD_FILE, `${randomBytes(18).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // The file is in a folder anyone can write: only trust one root made and only root can read.
  const info = lstatSync(PASSWORD_FILE);
  if (!info.isFile() || info.uid !== 0 || (info.mode & 0o077) !== 0) {
    throw new Error(`${PASSWORD_FILE} is not a root-only file: remove it and run the tests again`);
  }
  let password = '';
  // Its maker may not have written it yet.
  await retry(() => {
    password = readFileSync(PASSWORD_FILE, 'utf8').trim();
    if (password === '') throw new Error(`${PASSWORD_FILE} is empty`);
  });
  return password;
}

/** Runs `step` until it does not throw, for about five seconds (locks held by a parallel test process). */
async function retry(step: () => unknown): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      step();
      return;
    } catch (err) {
      if (attempt >= 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
