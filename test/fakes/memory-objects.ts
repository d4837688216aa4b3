import { Readable } from 'node:stream';
import type { SandboxScope } from '../../shared/core/scope.js';
import { NotFoundError } from '../../shared/errors.js';
import type { EncryptedObjectStore } from '../../shared/storage/encrypted-object-store.js';

/**
 * An {@link EncryptedObjectStore} in memory, for tests about what is stored where rather than about
 * encryption (that is the real store's, tested against Azurite and the emulator). `plaintexts`
 * exposes what was put, by `{org}/{sandbox}/{objectId}`.
 */
export class MemoryObjectStore implements EncryptedObjectStore {
  readonly plaintexts = new Map<string, Buffer>();

  async put(scope: SandboxScope, objectId: string, plaintext: Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of plaintext) chunks.push(Buffer.from(chunk as Uint8Array));
    this.plaintexts.set(keyOf(scope, objectId), Buffer.concat(chunks));
    return { blobName: objectId, etag: '"1"' };
  }

  get(scope: SandboxScope, objectId: string): Promise<Readable> {
    const data = this.plaintexts.get(keyOf(scope, objectId));
    return data === undefined ? Promise.reject(new NotFoundError()) : Promise.resolve(Readable.from([data]));
  }

  delete(scope: SandboxScope, objectId: string): Promise<boolean> {
    return Promise.resolve(this.plaintexts.delete(keyOf(scope, objectId)));
  }
}

const keyOf = (scope: SandboxScope, objectId: string) => `${scope.orgId}/${scope.sandbox}/${objectId}`;
