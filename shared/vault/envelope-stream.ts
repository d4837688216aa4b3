import type { Duplex } from 'node:stream';
import { buildDecrypt } from '@aws-crypto/decrypt-node';
import { buildEncrypt } from '@aws-crypto/encrypt-node';
import {
  AlgorithmSuiteIdentifier,
  CommitmentPolicy,
  NodeDefaultCryptographicMaterialsManager,
  type EncryptionContext,
  type NodeDecryptionMaterial,
  type NodeEncryptionMaterial,
  type NodeMaterialsManager,
} from '@aws-crypto/material-management-node';
import { RawAesKeyringNode, RawAesWrappingSuiteIdentifier } from '@aws-crypto/raw-aes-keyring-node';

/**
 * The at-rest format: an AWS Encryption SDK message (v2), suite
 * ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY (HKDF-derived data key, key commitment, no
 * ECDSA signature), framed, with the object's data key wrapped by the sandbox root key (raw AES
 * keyring, AES-256-GCM) and bound to {@link EnvelopeContext}.
 */
export const ENVELOPE_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

/**
 * Plaintext bytes per frame. Each frame is authenticated before any of it is released, so this is
 * also the most a reader buffers. 1 MiB measured ~30x faster than the SDK's 4 KiB default
 * (256 MiB encrypt+decrypt: 10.9 s at 4 KiB, 1.8 s at 64 KiB, 0.37 s at 1 MiB).
 */
export const ENVELOPE_FRAME_LENGTH = 1024 * 1024;

const KEY_NAMESPACE = 'cipherflow';
const KEY_NAME = 'sandbox-root-key';

const { encryptStream } = buildEncrypt(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const { decryptUnsignedMessageStream } = buildDecrypt(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

/** What a stored object is bound to; a message only opens where all three match. */
export interface EnvelopeContext {
  readonly orgId: string;
  readonly sandbox: string;
  readonly objectId: string;
}

/** A duplex: plaintext in, envelope out. */
export function encryptEnvelope(rootKey: Uint8Array, context: EnvelopeContext): Duplex {
  return encryptStream(keyring(rootKey), {
    suiteId: ENVELOPE_SUITE,
    encryptionContext: encryptionContext(context),
    frameLength: ENVELOPE_FRAME_LENGTH,
  });
}

/**
 * A duplex: envelope in, plaintext out. Refuses (with the SDK's error; callers make it opaque):
 * signed suites (`decryptUnsignedMessageStream`), non-committing suites, frames over
 * {@link ENVELOPE_FRAME_LENGTH}, a context other than `context` (checked on the header before the
 * data key is unwrapped, so before any plaintext exists), and any failed authentication.
 */
export function decryptEnvelope(rootKey: Uint8Array, context: EnvelopeContext): Duplex {
  return decryptUnsignedMessageStream(new ContextCheckingMaterialsManager(keyring(rootKey), encryptionContext(context)), {
    maxBodySize: ENVELOPE_FRAME_LENGTH,
  });
}

function keyring(rootKey: Uint8Array): RawAesKeyringNode {
  return new RawAesKeyringNode({
    keyNamespace: KEY_NAMESPACE,
    keyName: KEY_NAME,
    // A private copy: the SDK requires a buffer that owns its whole ArrayBuffer, and the cached
    // root key must not be shared with (or wiped by) material the SDK disposes.
    unencryptedMasterKey: new Uint8Array(rootKey),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
}

function encryptionContext(context: EnvelopeContext): EncryptionContext {
  return { 'cipherflow:org': context.orgId, 'cipherflow:sandbox': context.sandbox, 'cipherflow:object': context.objectId };
}

/**
 * The default materials manager, plus an exact comparison of the header's encryption context with
 * the expected one. The raw AES keyring already authenticates the context as AAD of the data key,
 * so this is a second, explicit check that also fails before the keyring is consulted.
 */
class ContextCheckingMaterialsManager implements NodeMaterialsManager {
  readonly #inner: NodeDefaultCryptographicMaterialsManager;
  readonly #expected: EncryptionContext;

  constructor(keyring: RawAesKeyringNode, expected: EncryptionContext) {
    this.#inner = new NodeDefaultCryptographicMaterialsManager(keyring);
    this.#expected = expected;
  }

  getEncryptionMaterials(request: Parameters<NodeMaterialsManager['getEncryptionMaterials']>[0]): Promise<NodeEncryptionMaterial> {
    return this.#inner.getEncryptionMaterials(request);
  }

  decryptMaterials(request: Parameters<NodeMaterialsManager['decryptMaterials']>[0]): Promise<NodeDecryptionMaterial> {
    const actual = request.encryptionContext;
    const keys = Object.keys(this.#expected);
    const matches = Object.keys(actual).length === keys.length && keys.every((k) => actual[k] === this.#expected[k]);
    if (!matches) return Promise.reject(new Error('Encryption context mismatch'));
    return this.#inner.decryptMaterials(request);
  }
}
