import { PassThrough, Transform, finished, pipeline, type Duplex, type Readable } from 'node:stream';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { AppError, DecryptionFailedError, NotFoundError } from '../errors.js';
import { decryptEnvelope, encryptEnvelope } from '../vault/envelope-stream.js';
import type { KeyHierarchy } from '../vault/key-hierarchy.js';
import { isNotFound } from '../core/azure-errors.js';
import type { SandboxScope } from '../core/scope.js';
import { OBJECTS_CONTAINER, objectBlobName } from './object-path.js';

/** Upload block size; with {@link UPLOAD_CONCURRENCY} it bounds upload memory (~ size x (concurrency + 1)). */
export const UPLOAD_BLOCK_BYTES = 4 * 1024 * 1024;
export const UPLOAD_CONCURRENCY = 4;
/** Times a broken download body is resumed from where it stopped. */
const DOWNLOAD_RESUMES = 5;
/** Blob metadata naming the envelope format, for a future format migration. */
const FORMAT_METADATA = { envelope: 'aws-esdk-v2-commit-key' } as const;

export interface EncryptedObjectStoreDeps {
  readonly blobs: BlobServiceClient;
  readonly keys: KeyHierarchy;
  /** Default {@link OBJECTS_CONTAINER}. */
  readonly container?: string;
}

/** An object as committed. */
export interface StoredObject {
  readonly blobName: string;
  readonly etag: string;
}

/** Sensitive objects (private keys, passphrases, ingested files) encrypted at rest, streamed both ways. */
export interface EncryptedObjectStore {
  /**
   * Encrypts `plaintext` under the sandbox's root key and stores it. Blocks are committed only
   * after the whole stream is encrypted and uploaded, so a failure leaves no partial object (an
   * existing object stays as it was). `plaintext` is destroyed on failure.
   *
   * @throws INVALID_REQUEST for a malformed org id, sandbox or object id.
   * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_DISABLED, KEK_NOT_FOUND before anything is written.
   * @throws the source stream's error, or a storage RestError.
   */
  put(scope: SandboxScope, objectId: string, plaintext: Readable): Promise<StoredObject>;
  /**
   * Opens an object for reading. Resolves once the envelope header has authenticated under this
   * sandbox, object id and root key, so a wrong tenant or object fails here, not mid-stream;
   * frames are released only after their tag verifies. A later failure (truncation, tampering)
   * destroys the stream with `DECRYPTION_FAILED`.
   *
   * @throws INVALID_REQUEST for a malformed org id, sandbox or object id.
   * @throws NOT_FOUND when there is no such object.
   * @throws DECRYPTION_FAILED (opaque) when it does not open here: another tenant's or object's
   *   blob, a tampered or foreign blob.
   * @throws KEY_VAULT_UNAVAILABLE, KEK_ACCESS_DENIED, KEK_DISABLED, KEK_NOT_FOUND.
   */
  get(scope: SandboxScope, objectId: string): Promise<Readable>;
  /** Deletes an object; false when there was none. @throws INVALID_REQUEST */
  delete(scope: SandboxScope, objectId: string): Promise<boolean>;
}

/** Builds the store over a blob container and the key hierarchy. */
export function createEncryptedObjectStore(deps: EncryptedObjectStoreDeps): EncryptedObjectStore {
  const container = deps.blobs.getContainerClient(deps.container ?? OBJECTS_CONTAINER);
  let containerReady: Promise<unknown> | undefined;
  // Remembered once it succeeds; a failed attempt is retried by the next put.
  const ready = (): Promise<unknown> =>
    (containerReady ??= container.createIfNotExists().catch((err: unknown) => {
      containerReady = undefined;
      throw err;
    }));

  return {
    async put(scope, objectId, plaintext) {
      let blobName: string;
      let rootKey: Uint8Array;
      try {
        blobName = objectBlobName(scope, objectId);
        [rootKey] = await Promise.all([deps.keys.rootKey(scope), ready()]);
      } catch (err) {
        plaintext.destroy();
        throw err;
      }
      return upload(container, blobName, plaintext, encryptEnvelope(rootKey, { ...scope, objectId }));
    },

    async get(scope, objectId) {
      const blobName = objectBlobName(scope, objectId);
      const rootKey = await deps.keys.rootKey(scope);
      let body: NodeJS.ReadableStream | undefined;
      try {
        body = (await container.getBlockBlobClient(blobName).download(0, undefined, { maxRetryRequests: DOWNLOAD_RESUMES }))
          .readableStreamBody;
      } catch (err) {
        if (isNotFound(err)) throw new NotFoundError('The object does not exist');
        throw err;
      }
      if (body === undefined) throw new Error('The blob download returned no body stream');
      return openEnvelope(body, decryptEnvelope(rootKey, { ...scope, objectId }));
    },

    async delete(scope, objectId) {
      const blobName = objectBlobName(scope, objectId);
      return (await container.getBlockBlobClient(blobName).deleteIfExists()).succeeded;
    },
  };
}

async function upload(container: ContainerClient, blobName: string, plaintext: Readable, encrypt: Duplex): Promise<StoredObject> {
  // Deliberately pipe() and not pipeline(): destroying the SDK's encrypt stream mid-message makes
  // its internal pipeline emit an unhandled "Premature close". On failure the upload is cut off
  // at `ciphertext` (so uploadStream rejects and commits nothing) and the encryptor is ended and
  // drained instead, which also disposes its data key material.
  const ciphertext = new PassThrough();
  let failed = false;
  const fail = (err: unknown): void => {
    if (failed) return;
    failed = true;
    plaintext.unpipe(encrypt);
    encrypt.unpipe(ciphertext);
    ciphertext.destroy(err instanceof Error ? err : new Error('The object upload failed'));
    plaintext.destroy();
    encrypt.resume();
    encrypt.end();
  };
  // finished() and not once('error'): the source may have failed or been destroyed already (an
  // ingestion pipeline whose decryption failed while put() waited for the root key); its error
  // was emitted then, and without this the upload would wait for an end that never comes.
  const stopWatching = finished(plaintext, { writable: false }, (err) => {
    if (err !== undefined && err !== null) fail(err);
  });
  encrypt.once('error', fail);
  plaintext.pipe(encrypt).pipe(ciphertext);
  try {
    const response = await container.getBlockBlobClient(blobName).uploadStream(ciphertext, UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY, {
      blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
      metadata: { ...FORMAT_METADATA },
    });
    if (response.etag === undefined) throw new Error('The blob upload returned no ETag');
    return { blobName, etag: response.etag };
  } catch (err) {
    fail(err);
    throw err;
  } finally {
    stopWatching();
    encrypt.off('error', fail);
  }
}

/**
 * Pipes the downloaded envelope through the decryptor into the returned stream, and waits for the
 * header to authenticate. Decryption failures become one opaque `DECRYPTION_FAILED`; failures of
 * the download itself keep their own error.
 */
async function openEnvelope(body: NodeJS.ReadableStream, decrypt: Duplex): Promise<Readable> {
  let downloadFailed = false;
  body.once('error', () => {
    downloadFailed = true;
  });
  const plaintext = new Transform({
    transform(chunk, _encoding, callback) {
      callback(null, chunk);
    },
    destroy(err, callback) {
      if (err === null || downloadFailed || err instanceof AppError) callback(err);
      else callback(new DecryptionFailedError({ cause: err }));
    },
  });
  pipeline(body, decrypt, plaintext, () => undefined);
  // Not events.once(decrypt, ...): it would reject with the decryptor's raw error, an oracle.
  let onError: ((err: unknown) => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onError = reject;
      plaintext.once('error', reject);
      decrypt.once('MessageHeader', () => resolve());
    });
  } finally {
    if (onError !== undefined) plaintext.off('error', onError);
  }
  return plaintext;
}
