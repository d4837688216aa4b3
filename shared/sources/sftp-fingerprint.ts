import { createHash } from 'node:crypto';

/**
 * The fingerprint of an SSH host key as OpenSSH prints it (`ssh-keygen -lf key.pub -E sha256`,
 * and `ssh` when it asks to trust a new host): `SHA256:` then the unpadded Base64 of the SHA-256
 * of the key's wire-format blob (RFC 4253 §6.6, the bytes ssh2's `hostVerifier` receives).
 */
export function sftpFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}
