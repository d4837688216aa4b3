import { HpkeDecryptFailedError, HpkeFormatUnsupportedError, HpkeTimestampSkewError, HpkeUnknownKeyError, HpkeUnsupportedSuiteError } from '../errors.js';
import type { Clock } from '../core/clock.js';
import { cipherSuite } from './cipher-suite.js';
import { MAX_TIMESTAMP_SKEW_SECONDS } from './key-lifecycle.js';
import type { ReplayCache } from './replay-cache.js';
import type { ServerKeyRing } from './server-keys.js';
import { suiteOf, type Suite } from './suites.js';
import { FORMAT_VERSION, NO_CLIENT_KEY_ID, TIMESTAMP_HEADER, decodeHeader, requestAad, requestInfo, splitMessage, type TenantBinding } from './wire-format.js';

export interface OpenRequestDeps {
  readonly keys: ServerKeyRing;
  readonly replay: ReplayCache;
  readonly clock: Clock;
}

/** An encrypted request as received, with the tenant the server resolved for it. */
export interface EncryptedRequest extends TenantBinding {
  readonly method: string;
  /** The path as sent, without the query string. */
  readonly path: string;
  /** The `x-hpke-timestamp` header. */
  readonly timestamp: string | null;
  /** The `x-hpke-format` header. */
  readonly format: string | null;
  /** The `x-hpke-client-key-id` sent (0..255), if any. */
  readonly clientKeyId?: number;
  readonly body: Uint8Array;
}

/**
 * @throws HPKE_FORMAT_UNSUPPORTED unless `x-hpke-format` names the format we speak: a client still
 *   on format 1 learns why, instead of getting an opaque HPKE_DECRYPT_FAILED.
 */
export function assertFormat(format: string | null): void {
  if (format !== String(FORMAT_VERSION)) throw new HpkeFormatUnsupportedError(format);
}

/** A decrypted request: the JSON bytes, and what its response is bound to. */
export interface OpenedRequest {
  readonly plaintext: Uint8Array;
  readonly enc: Uint8Array;
  readonly suite: Suite;
}

/**
 * Decrypts `hdr || enc || ct` with our key `keyId` (never another key), binding it to the method,
 * path, timestamp, org, sandbox and client key id, then records `enc` so the request cannot be
 * replayed.
 *
 * @throws HPKE_FORMAT_UNSUPPORTED, HPKE_UNKNOWN_KEY (listing the current ids), HPKE_UNSUPPORTED_SUITE, HPKE_TIMESTAMP_SKEW,
 *   HPKE_DECRYPT_FAILED (opaque: malformed, tampered, wrong key or moved), HPKE_REPLAY
 */
export async function openRequest(deps: OpenRequestDeps, req: EncryptedRequest): Promise<OpenedRequest> {
  assertFormat(req.format);
  const ids = decodeHeader(req.body);
  if (ids === undefined) throw new HpkeDecryptFailedError({ cause: new Error('body shorter than the header') });
  const key = await deps.keys.find(ids.keyId);
  if (key === undefined) throw new HpkeUnknownKeyError(await deps.keys.acceptedIds());
  const suite = suiteOf(ids);
  if (suite === undefined || suite.kem.id !== key.kemId) throw new HpkeUnsupportedSuiteError();
  const now = deps.clock.now();
  const ts = req.timestamp;
  if (ts === null || !/^\d{1,12}$/.test(ts)) throw new HpkeTimestampSkewError(`The ${TIMESTAMP_HEADER} header must be the unix time in seconds`);
  if (Math.abs(now / 1000 - Number(ts)) > MAX_TIMESTAMP_SKEW_SECONDS) {
    throw new HpkeTimestampSkewError(`${TIMESTAMP_HEADER} is more than ${MAX_TIMESTAMP_SKEW_SECONDS} s from the server time`);
  }
  const message = splitMessage(req.body, suite.kem.encLength);
  if (message === undefined) throw new HpkeDecryptFailedError({ cause: new Error('body too short') });
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(
      await cipherSuite(suite).open(
        { recipientKey: key.keyPair, enc: message.enc, info: requestInfo(message.header) },
        message.ct,
        requestAad({ method: req.method, path: req.path, timestamp: ts, org: req.org, sandbox: req.sandbox, clientKeyId: req.clientKeyId ?? NO_CLIENT_KEY_ID }),
      ),
    );
  } catch (err) {
    throw new HpkeDecryptFailedError({ cause: err });
  }
  await deps.replay.remember(ids.keyId, message.enc, now, Number(ts));
  return { plaintext, enc: message.enc, suite };
}
