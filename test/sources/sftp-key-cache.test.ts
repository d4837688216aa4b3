import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { createSftpKeyCache } from '../../shared/sources/sftp-key-cache.js';

const PASSPHRASE = 'a passphrase for the key';
const WRONG = 'not-the-passphrase-7f3a';
// ssh-keygen's defaults for a new OpenSSH key: bcrypt-pbkdf with 16 rounds, AES-256-CTR.
const { private: ENCRYPTED } = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: PASSPHRASE, rounds: 16, cipher: 'aes256-ctr' });

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'read';
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  }
}

describe('SFTP private keys read once per process', () => {
  it('decrypts a passphrase-protected key once, then answers the same key without decrypting again', () => {
    const keys = createSftpKeyCache();
    const started = performance.now();
    const first = keys.parse(ENCRYPTED, PASSPHRASE);
    const firstMs = performance.now() - started;
    const again = performance.now();
    const second = keys.parse(ENCRYPTED, PASSPHRASE);
    const secondMs = performance.now() - again;
    expect(first.isPrivateKey()).toBe(true);
    expect(second).toBe(first);
    // The first read runs bcrypt-pbkdf; the second is a hash and a map lookup.
    expect(secondMs).toBeLessThan(firstMs);
  });

  it('refuses a wrong or missing passphrase and a non-key with SOURCE_AUTH_FAILED, quoting neither', () => {
    const keys = createSftpKeyCache();
    expect(codeOf(() => keys.parse(ENCRYPTED, WRONG))).toBe('SOURCE_AUTH_FAILED');
    expect(codeOf(() => keys.parse(ENCRYPTED, undefined))).toBe('SOURCE_AUTH_FAILED');
    expect(codeOf(() => keys.parse('-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----', undefined))).toBe('SOURCE_AUTH_FAILED');
    let message = '';
    try {
      keys.parse(ENCRYPTED, WRONG);
    } catch (err) {
      message = `${err instanceof Error ? err.message : String(err)} ${err instanceof AppError ? err.detail : ''}`;
    }
    expect(message).toMatch(/could not be read/);
    expect(message).not.toContain(WRONG);
    expect(message).not.toContain(PASSPHRASE);
    // A wrong passphrase is not cached as the right key, and the right one still reads.
    expect(keys.parse(ENCRYPTED, PASSPHRASE).isPrivateKey()).toBe(true);
  });

  it('reads a key again once it has gone unused for the keep time', () => {
    let now = 0;
    const keys = createSftpKeyCache(() => now);
    const first = keys.parse(ENCRYPTED, PASSPHRASE);
    now += 16 * 60_000;
    expect(keys.parse(ENCRYPTED, PASSPHRASE)).not.toBe(first);
  });
});
