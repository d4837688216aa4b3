import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OBJECTS_CONTAINER } from '../../shared/storage/object-path.js';
import type { KekRef } from '../../shared/vault/key-vault-key-id.js';
import { buildStore, expectCode, readAll, startVaultFixture, uniqueOrg, type VaultFixture } from './support.js';

let fixture: VaultFixture;
let table: TableClient;
let kek: KekRef;

beforeAll(async () => {
  fixture = await startVaultFixture();
  table = await fixture.newTable();
  kek = (await fixture.newKek()).ref;
});

afterAll(async () => {
  await fixture?.stop();
});

function blob(name: string) {
  return fixture.blobs.getContainerClient(OBJECTS_CONTAINER).getBlockBlobClient(name);
}

describe('encrypted object store', () => {
  it('round-trips an object and stores only ciphertext at {org}/{sandbox}/{objectId}', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const org = uniqueOrg();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const stored = await store.put({ orgId: org, sandbox: 'prod' }, 'private-key.asc', Readable.from([data]));
    expect(stored.blobName).toBe(`${org}/prod/private-key.asc`);
    expect((await readAll(await store.get({ orgId: org, sandbox: 'prod' }, 'private-key.asc'))).equals(data)).toBe(true);
    const raw = await blob(stored.blobName).downloadToBuffer(); // bounded: a 3 MiB test object
    expect(raw.includes(data.subarray(0, 64))).toBe(false);
    expect(raw[0]).toBe(0x02); // ESDK message format version 2
    expect(raw.readUInt16BE(1)).toBe(0x0478); // ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY
  });

  it('round-trips an empty object', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await store.put(scope, 'empty', Readable.from([]));
    expect((await readAll(await store.get(scope, 'empty'))).length).toBe(0);
  });

  it('refuses an object copied to another sandbox with DECRYPTION_FAILED', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const org = uniqueOrg();
    const a = { orgId: org, sandbox: 'sandbox-a' };
    const b = { orgId: org, sandbox: 'sandbox-b' };
    const stored = await store.put(a, 'passphrase', Readable.from([Buffer.from('correct horse battery staple')]));
    await store.put(b, 'other', Readable.from([Buffer.from('b exists, so b has its root key')]));
    await blob(`${org}/sandbox-b/passphrase`).syncCopyFromURL(blob(stored.blobName).url);
    const err = await expectCode(store.get(b, 'passphrase'), 'DECRYPTION_FAILED');
    expect(err.detail).toBe('The data could not be decrypted');
  });

  it('refuses an object copied to another org with DECRYPTION_FAILED', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const a = { orgId: uniqueOrg(), sandbox: 'prod' };
    const b = { orgId: uniqueOrg(), sandbox: 'prod' };
    const stored = await store.put(a, 'file.pgp', Readable.from([randomBytes(1000)]));
    await store.put(b, 'seed', Readable.from([Buffer.from('x')]));
    await blob(`${b.orgId}/prod/file.pgp`).syncCopyFromURL(blob(stored.blobName).url);
    await expectCode(store.get(b, 'file.pgp'), 'DECRYPTION_FAILED');
  });

  it('refuses an object copied to another object id in the same sandbox with DECRYPTION_FAILED', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const stored = await store.put(scope, 'key-1', Readable.from([randomBytes(1000)]));
    await blob(`${scope.orgId}/prod/key-2`).syncCopyFromURL(blob(stored.blobName).url);
    await expectCode(store.get(scope, 'key-2'), 'DECRYPTION_FAILED');
  });

  it('fails a tampered object with DECRYPTION_FAILED before releasing the tampered frame', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const stored = await store.put(scope, 'tampered', Readable.from([randomBytes(2 * 1024 * 1024)]));
    const raw = await blob(stored.blobName).downloadToBuffer(); // bounded: 2 MiB test object
    const at = raw.length - 100; // inside the final frame
    raw[at] = (raw[at] ?? 0) ^ 1;
    await blob(stored.blobName).uploadData(raw);
    const plaintext = await store.get(scope, 'tampered');
    let released = 0;
    const err = await new Promise<unknown>((resolve) => {
      plaintext.on('data', (chunk: Buffer) => (released += chunk.length));
      plaintext.on('error', resolve);
      plaintext.on('end', () => resolve(undefined));
    });
    expect(err).toMatchObject({ code: 'DECRYPTION_FAILED' });
    expect(released).toBeLessThanOrEqual(1024 * 1024); // the first (intact) frame at most
  });

  it('fails a blob that is not an envelope with DECRYPTION_FAILED', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await store.put(scope, 'seed', Readable.from([Buffer.from('x')]));
    await blob(`${scope.orgId}/prod/garbage`).uploadData(randomBytes(5000));
    await expectCode(store.get(scope, 'garbage'), 'DECRYPTION_FAILED');
  });

  it('answers NOT_FOUND for a missing object', async () => {
    const { store } = buildStore(fixture, { table, kek });
    await expectCode(store.get({ orgId: uniqueOrg(), sandbox: 'prod' }, 'nope'), 'NOT_FOUND');
  });

  it('refuses unsafe object ids, org ids and sandboxes with INVALID_REQUEST', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    for (const id of ['..', '.', 'a/b', 'a\\b', 'a#b', 'a?b', '', 'x'.repeat(201)]) {
      await expectCode(store.put(scope, id, Readable.from([Buffer.from('x')])), 'INVALID_REQUEST');
    }
    await expectCode(store.get({ orgId: 'ABC/123@AdobeOrg', sandbox: 'prod' }, 'a'), 'INVALID_REQUEST');
    await expectCode(store.get({ orgId: '..', sandbox: 'prod' }, 'a'), 'INVALID_REQUEST');
    await expectCode(store.get({ orgId: uniqueOrg(), sandbox: 'Prod#1' }, 'a'), 'INVALID_REQUEST');
  });

  it('leaves no object visible when the source fails mid-upload, and keeps the previous version', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const failing = () =>
      Readable.from(
        (async function* () {
          for (let i = 0; i < 3; i++) yield randomBytes(8 * 1024 * 1024);
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error('client went away');
        })(),
      );
    await expect(store.put(scope, 'partial', failing())).rejects.toThrow('client went away');
    expect(await blob(`${scope.orgId}/prod/partial`).exists()).toBe(false);

    const first = Buffer.from('version 1');
    await store.put(scope, 'replaced', Readable.from([first]));
    await expect(store.put(scope, 'replaced', failing())).rejects.toThrow('client went away');
    expect((await readAll(await store.get(scope, 'replaced'))).equals(first)).toBe(true);
  });

  it('rejects, and stores nothing, when the source already failed or ended early before the upload began', async () => {
    // Ingestion hands over a pipeline that decryption may fail while put() still waits for the
    // root key: the error has been emitted by then, and no listener added later hears it.
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    const errored = new PassThrough();
    errored.on('error', () => undefined);
    errored.destroy(new Error('integrity check failed'));
    await expect(store.put(scope, 'errored', errored)).rejects.toThrow('integrity check failed');
    const closed = new PassThrough();
    closed.write('half of it');
    closed.destroy();
    await expect(store.put(scope, 'closed', closed)).rejects.toThrow(/premature close/i);
    expect(await blob(`${scope.orgId}/prod/errored`).exists()).toBe(false);
    expect(await blob(`${scope.orgId}/prod/closed`).exists()).toBe(false);
  });

  it('makes ~0 vault calls per object once the root key is cached (50 objects, ≤ 1 unwrap)', async () => {
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await buildStore(fixture, { table, kek }).store.put(scope, 'seed', Readable.from([Buffer.from('x')]));
    // A fresh process: empty cache, the sandbox's root key record already exists.
    const { store } = buildStore(fixture, { table, kek });
    fixture.stack.vault.resetRequestCounts();
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(100 + i);
      await store.put(scope, `obj-${i}`, Readable.from([data]));
      expect((await readAll(await store.get(scope, `obj-${i}`))).equals(data)).toBe(true);
    }
    const counts = fixture.stack.vault.requestCounts();
    expect(counts.unwrapKey ?? 0).toBeLessThanOrEqual(1);
    expect(counts.wrapKey ?? 0).toBe(0);
    expect(counts.get ?? 0).toBe(0);
  });
});

describe('stream lifecycle', () => {
  it('lets a reader stop early without an unhandled error', async () => {
    const { store } = buildStore(fixture, { table, kek });
    const scope = { orgId: uniqueOrg(), sandbox: 'prod' };
    await store.put(scope, 'big', Readable.from([randomBytes(6 * 1024 * 1024)]));
    const plaintext = await store.get(scope, 'big');
    await new Promise<void>((resolve) => {
      plaintext.once('data', () => {
        plaintext.destroy();
        resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(plaintext.destroyed).toBe(true);
  });
});
