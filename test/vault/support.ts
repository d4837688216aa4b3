import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import { KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import { BlobServiceClient } from '@azure/storage-blob';
import { expect } from 'vitest';
import type { ErrorCode } from '../../shared/errors.js';
import { AppError } from '../../shared/errors.js';
import { createEncryptedObjectStore, type EncryptedObjectStore } from '../../shared/storage/encrypted-object-store.js';
import type { Clock } from '../../shared/core/clock.js';
import { createKeyVaultKekClient, type KekClient } from '../../shared/vault/kek-client.js';
import { createKeyHierarchy, type KeyHierarchy, type KeyHierarchyDeps } from '../../shared/vault/key-hierarchy.js';
import type { KekRef } from '../../shared/vault/key-vault-key-id.js';
import { systemRandom } from '../../shared/core/random.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';

/** A clock tests move by hand, so TTLs pass without waiting. */
export class ManualClock implements Clock {
  #now = Date.parse('2026-01-01T00:00:00Z');
  now(): number {
    return this.#now;
  }
  advanceSeconds(seconds: number): void {
    this.#now += seconds * 1000;
  }
}

/** The local stack plus the clients the vault layer is given, built the way production builds them. */
export interface VaultFixture {
  readonly stack: LocalStack;
  readonly credential: DefaultAzureCredential;
  /** Management client for test setup (create, disable, new versions). */
  readonly keys: KeyClient;
  readonly blobs: BlobServiceClient;
  /** A KEK client whose retries are short, so 503 tests do not wait on backoff. */
  readonly vault: KekClient;
  /** A fresh RSA-3072 KEK with key_ops wrapKey/unwrapKey. */
  newKek(): Promise<{ key: KeyVaultKey; ref: KekRef }>;
  /** A fresh `rootkeys`-shaped table (unique name, so tests never share records). */
  newTable(): Promise<TableClient>;
  stop(): Promise<void>;
}

export async function startVaultFixture(): Promise<VaultFixture> {
  const stack = await startLocalStack();
  // ManagedIdentityCredential (inside DefaultAzureCredential) reads these when it is built.
  Object.assign(process.env, stack.vault.env());
  const credential = new DefaultAzureCredential();
  const keys = new KeyClient(stack.vault.url, credential, { disableChallengeResourceVerification: true });
  const blobs = BlobServiceClient.fromConnectionString(stack.azurite.connectionString);
  const vault = createKeyVaultKekClient({
    credential,
    allowLoopback: true,
    clientOptions: { retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } },
  });
  return {
    stack,
    credential,
    keys,
    blobs,
    vault,
    async newKek() {
      const key = await keys.createRsaKey(uniqueName('kek'), { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] });
      return { key, ref: { vaultUrl: stack.vault.url, name: key.name } };
    },
    async newTable() {
      const table = TableClient.fromConnectionString(stack.azurite.connectionString, `rootkeys${randomBytes(6).toString('hex')}`, {
        allowInsecureConnection: true,
      });
      await table.createTable();
      return table;
    },
    stop: () => stack.stop(),
  };
}

/** A hierarchy + store over the fixture, for one org's KEK. */
export function buildStore(
  fixture: VaultFixture,
  options: { table: TableClient; kek: KekRef; clock?: Clock; container?: string } & Partial<Pick<KeyHierarchyDeps, 'cacheTtlSeconds' | 'maxStaleSeconds' | 'vault'>>,
): { hierarchy: KeyHierarchy; store: EncryptedObjectStore; clock: Clock } {
  const clock = options.clock ?? new ManualClock();
  const hierarchy = createKeyHierarchy({
    tables: options.table,
    vault: options.vault ?? fixture.vault,
    clock,
    random: systemRandom,
    resolveKek: () => Promise.resolve(options.kek),
    ...(options.cacheTtlSeconds === undefined ? {} : { cacheTtlSeconds: options.cacheTtlSeconds }),
    ...(options.maxStaleSeconds === undefined ? {} : { maxStaleSeconds: options.maxStaleSeconds }),
  });
  const store = createEncryptedObjectStore({ blobs: fixture.blobs, keys: hierarchy, ...(options.container === undefined ? {} : { container: options.container }) });
  return { hierarchy, store, clock };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A unique Adobe-style org id. */
export function uniqueOrg(): string {
  return `${randomBytes(6).toString('hex').toUpperCase()}@AdobeOrg`;
}

/** Reads a stream to one Buffer (small test objects only). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Asserts that `promise` rejects with an AppError of `code`; returns it. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  if (!(err instanceof AppError)) throw new Error('unreachable');
  expect(err.code).toBe(code);
  return err;
}
