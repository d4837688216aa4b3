import { Client, type ConnectConfig, type PublicKeyAuthMethod } from 'ssh2';
import { SourceError } from '../errors.js';
import type { OutboundGuard } from '../outbound/outbound-guard.js';
import { sftpFingerprint } from './sftp-fingerprint.js';
import { createSftpKeyCache, type SftpKeyCache } from './sftp-key-cache.js';
import type { HostKeyCheck } from './source-opener.js';
import { SftpSession } from './sftp-session.js';

/** How to reach and log in to a customer's SFTP server (Adobe's SFTP source connection). */
export interface SftpSource {
  readonly host: string;
  readonly port: number;
  readonly userName: string;
  /** The folder the reader's paths are relative to: absolute (`/upload`) or relative to the login folder (`upload`). */
  readonly folderPath: string;
  readonly auth:
    | { readonly kind: 'password'; readonly password: string }
    | {
        readonly kind: 'privateKey';
        /** The private key file's text (OpenSSH or PEM), already Base64-decoded from the connection's `privateKeyContent`. */
        readonly privateKey: string;
        readonly passPhrase?: string;
      };
}

/** What an SFTP reader is handed besides the source. */
export interface SftpReaderOptions {
  /** Checks the host (SSRF) and names the one address to connect to. */
  readonly guard: OutboundGuard;
  /**
   * The pinned host key (`SHA256:` and unpadded Base64, as OpenSSH prints it), or none: then the
   * key is accepted and `onSeen` gets its fingerprint before anything is sent to log in.
   */
  readonly hostKey: HostKeyCheck;
  /** Limit for connecting and logging in, and for each SFTP request. Default {@link DEFAULT_SFTP_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Where private keys are read once and kept (default: read at each connection). */
  readonly keys?: SftpKeyCache;
}

export const DEFAULT_SFTP_TIMEOUT_MS = 20_000;

/** SSH keepalives find a connection that died silently (a NAT or firewall dropping it) while a reader holds it. */
const KEEPALIVE_INTERVAL_MS = 10_000;
const KEEPALIVE_COUNT_MAX = 3;

/**
 * Connects to the address `options.guard` approved for `source.host` (never resolving the name
 * again), verifies the host key before logging in, logs in and opens the SFTP channel.
 *
 * ssh2 runs `hostVerifier` during key exchange, before the `ssh-userauth` service is asked for,
 * so a server with the wrong key never sees the password or a signature of the private key.
 * Details of errors never quote the password, the key or the passphrase.
 *
 * @throws ADDRESS_NOT_ALLOWED or SOURCE_UNREACHABLE from the guard.
 * @throws SOURCE_HOST_KEY_MISMATCH when a fingerprint is pinned and the server's key has another.
 * @throws SOURCE_AUTH_FAILED when the server refuses the credential, or the private key cannot be
 *   read (not a key ssh2 supports, or encrypted and the passphrase is missing or wrong).
 * @throws SOURCE_UNREACHABLE when the connection is refused, times out, or the handshake or the
 *   SFTP subsystem fails.
 */
export async function connectSftp(source: SftpSource, options: SftpReaderOptions): Promise<SftpSession> {
  const target = await options.guard.check(source.host);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SFTP_TIMEOUT_MS;
  const pinned = options.hostKey.fingerprint?.replace(/=+$/, '');
  const where = `${source.host}:${source.port}`;
  let refusedKey: string | undefined;
  let seenFailed: unknown;

  const hostVerifier = (key: Buffer): boolean => {
    const fingerprint = sftpFingerprint(key);
    if (pinned !== undefined) {
      if (fingerprint === pinned) return true;
      refusedKey = fingerprint;
      return false;
    }
    try {
      options.hostKey.onSeen?.(fingerprint);
      return true;
    } catch (err) {
      // A throw here would escape into ssh2's socket handler; refuse the host and report it instead.
      seenFailed = err;
      return false;
    }
  };

  const config: ConnectConfig = {
    host: target.address,
    port: source.port,
    username: source.userName,
    readyTimeout: timeoutMs,
    keepaliveInterval: KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    hostVerifier,
  };

  const client = new Client();
  return new Promise<SftpSession>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(err);
    };
    client.on('error', (err: Error & { level?: string }) => {
      if (seenFailed !== undefined) {
        return fail(
          seenFailed instanceof Error ? seenFailed : new Error('hostKey.onSeen threw', { cause: seenFailed }),
        );
      }
      if (refusedKey !== undefined) {
        return fail(
          new SourceError(
            'SOURCE_HOST_KEY_MISMATCH',
            `The SFTP server ${where} presented host key ${refusedKey}, not the pinned one; nothing was sent to log in`,
            { cause: err },
          ),
        );
      }
      if (err.level === 'client-authentication') {
        return fail(
          new SourceError('SOURCE_AUTH_FAILED', `The SFTP server ${where} refused the user name or credential`, {
            cause: err,
          }),
        );
      }
      if (err.level === 'client-timeout') {
        return fail(
          new SourceError('SOURCE_UNREACHABLE', `The SFTP server ${where} did not answer within ${timeoutMs} ms`, {
            cause: err,
          }),
        );
      }
      fail(new SourceError('SOURCE_UNREACHABLE', `Could not connect to the SFTP server ${where}`, { cause: err }));
    });
    client.on('close', () =>
      fail(new SourceError('SOURCE_UNREACHABLE', `The SFTP server ${where} closed the connection`)),
    );
    client.on('ready', () => {
      client.sftp((err, sftp) => {
        if (err !== undefined) {
          return fail(
            new SourceError('SOURCE_UNREACHABLE', `The SFTP server ${where} refused the SFTP subsystem`, {
              cause: err,
            }),
          );
        }
        if (settled) return sftp.end();
        settled = true;
        resolve(new SftpSession(client, sftp, timeoutMs));
      });
    });
    try {
      const { auth } = source;
      if (auth.kind === 'password') {
        client.connect({ ...config, password: auth.password });
      } else {
        // The key read (and decrypted) once, then offered as a parsed key: ssh2 takes it as is.
        const key: PublicKeyAuthMethod = { type: 'publickey', username: source.userName, key: (options.keys ?? createSftpKeyCache()).parse(auth.privateKey, auth.passPhrase) };
        client.connect({ ...config, authHandler: [key] });
      }
    } catch (err) {
      fail(
        err instanceof SourceError
          ? err
          : new SourceError('SOURCE_UNREACHABLE', `Could not connect to the SFTP server ${where}`, { cause: err }),
      );
    }
  });
}
