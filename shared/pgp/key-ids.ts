import type { Key, KeyID } from 'openpgp';

/** The 16-hex-digit form used in logs, errors and `gpg --list-keys`, upper case. */
export function keyIdHex(keyId: KeyID): string {
  return keyId.toHex().toUpperCase();
}

/** Primary key id first, then subkeys. */
export function keyIdsOf(key: Key): string[] {
  return key.getKeyIDs().map(keyIdHex);
}
