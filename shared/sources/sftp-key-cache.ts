import { createHash } from 'node:crypto';
import ssh2, { type ParsedKey } from 'ssh2';
import { SourceError } from '../errors.js';

/** Most keys kept, and how long one is kept after it was last used. */
const MAX_KEYS = 32;
const KEEP_MS = 15 * 60_000;

/**
 * SSH private keys, read once per process. ssh2 decrypts a passphrase-protected OpenSSH key with
 * bcrypt-pbkdf in JavaScript, synchronously, on the thread that also serves HTTP: about 0.3 s at
 * ssh-keygen's default 16 rounds. Every listing and every file transfer opens a connection, so
 * without this a folder of a thousand files would stall the thread for minutes; with it, each key
 * costs that once per instance (and again after {@link KEEP_MS} unused). Keys are held by the hash
 * of the key file and passphrase, in memory only, as the connection holds them while it lives.
 */
export interface SftpKeyCache {
  /**
   * The parsed, decrypted key.
   * @throws SOURCE_AUTH_FAILED when it is not a key ssh2 reads, or is encrypted and the passphrase
   *   is missing or wrong (the detail never quotes either).
   */
  parse(privateKey: string, passPhrase: string | undefined): ParsedKey;
}

export function createSftpKeyCache(now: () => number = Date.now): SftpKeyCache {
  const keys = new Map<string, { key: ParsedKey; usedAt: number }>();
  return {
    parse(privateKey, passPhrase) {
      const id = createHash('sha256').update(JSON.stringify([privateKey, passPhrase ?? null])).digest('base64url');
      const cached = keys.get(id);
      if (cached !== undefined && now() - cached.usedAt < KEEP_MS) {
        // Map order is use order: the least recently used goes first when the cache is full.
        keys.delete(id);
        keys.set(id, { key: cached.key, usedAt: now() });
        return cached.key;
      }
      const parsed = ssh2.utils.parseKey(privateKey, passPhrase);
      const key = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
      if (key === undefined || key instanceof Error || !key.isPrivateKey()) {
        throw new SourceError(
          'SOURCE_AUTH_FAILED',
          'The private key could not be read: it is not a supported key, or it is encrypted and the passphrase is missing or wrong',
          key instanceof Error ? { cause: key } : {},
        );
      }
      keys.delete(id);
      keys.set(id, { key, usedAt: now() });
      for (const [oldest] of keys) {
        if (keys.size <= MAX_KEYS) break;
        keys.delete(oldest);
      }
      return key;
    },
  };
}
