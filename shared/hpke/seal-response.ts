import type { CipherSuite } from '@hpke/core';
import { cipherSuite } from './cipher-suite.js';
import type { ResolvedClientKey } from './client-keys.js';
import { kemById, type Aead, type Kdf } from './suites.js';
import { encodeHeader, joinMessage, responseAad, responseInfo, type ResponseBinding } from './wire-format.js';

export type { ResponseBinding };

/**
 * Recipient keys ready for the library, per resolved client key: the import (a KeyObject, ~15 µs)
 * is paid once per key, since the client key cache hands out the same object for every response
 * it covers.
 */
const recipients = new WeakMap<ResolvedClientKey, Promise<CryptoKey>>();

export function recipientKey(suite: CipherSuite, clientKey: ResolvedClientKey): Promise<CryptoKey> {
  let key = recipients.get(clientKey);
  if (key === undefined) {
    key = suite.kem.deserializePublicKey(clientKey.publicKey);
    key.catch(() => recipients.delete(clientKey));
    recipients.set(clientKey, key);
  }
  return key;
}

/**
 * Encrypts a response body to a client key: `hdr || enc || ct` with hdr = clientKeyId || kemId ||
 * kdfId || aeadId, `info` = `cipherflow response v2` || 0x00 || hdr, `aad` = {@link responseAad}
 * (method, path, status, org, sandbox, the request's enc).
 */
export async function sealResponse(clientKey: ResolvedClientKey, kdf: Kdf, aead: Aead, binding: ResponseBinding, body: Uint8Array): Promise<Uint8Array> {
  const kem = kemById(clientKey.kemId);
  if (kem === undefined) throw new Error(`stored client key has an unknown KEM ${clientKey.kemId}`);
  const suite = cipherSuite({ kem, kdf, aead });
  const header = encodeHeader({ keyId: clientKey.keyId, kemId: kem.id, kdfId: kdf.id, aeadId: aead.id });
  const sealed = await suite.seal(
    { recipientPublicKey: await recipientKey(suite, clientKey), info: responseInfo(header) },
    body,
    responseAad(binding),
  );
  return joinMessage(header, new Uint8Array(sealed.enc), new Uint8Array(sealed.ct));
}
