import type { TableClient } from '@azure/data-tables';
import { AppError } from '../errors.js';
import { isConflict, isNotFound } from '../core/azure-errors.js';

export interface TableLockOptions {
  /** How long a holder may keep the lock before another may break it (a crashed holder). */
  readonly leaseMs: number;
  /** How long to wait for the lock before giving up with STORAGE_UNAVAILABLE. */
  readonly waitMs: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The lock stayed taken for the whole wait: busy, try again. */
export class LockBusyError extends AppError {
  constructor() {
    super('STORAGE_UNAVAILABLE', 'Another change of this resource is in progress; retry shortly', { retryAfterSeconds: 2 });
  }
}

/**
 * Runs `fn` holding a lock row (`partitionKey`, `rowKey`) of `table`, for operations storage itself
 * cannot make conditional (Set Container ACL has no If-Match). The row is created with
 * If-None-Match (only one creator wins); a row older than `leaseMs` belongs to a holder that died and
 * is broken with If-Match on its ETag, so two waiters cannot both break it. Released with If-Match,
 * so a holder that outlived its lease never deletes its successor's row.
 *
 * @throws LockBusyError when the lock is not had within `waitMs`; whatever `fn` throws.
 */
export async function withTableLock<T>(table: TableClient, partitionKey: string, rowKey: string, options: TableLockOptions, fn: () => Promise<T>): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + options.waitMs;
  const etag = await acquire();
  async function acquire(): Promise<string> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return (await table.createEntity({ partitionKey, rowKey, takenAt: now() })).etag ?? '*';
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
      try {
        const held = await table.getEntity<{ takenAt: number }>(partitionKey, rowKey);
        if (now() - held.takenAt > options.leaseMs) {
          await table.deleteEntity(partitionKey, rowKey, { etag: held.etag });
          continue;
        }
      } catch (err) {
        // Released (404) or broken by another waiter (412) meanwhile: try to take it again.
        if (!isNotFound(err) && !isConflict(err)) throw err;
        continue;
      }
      if (now() >= deadline) throw new LockBusyError();
      await sleep(Math.min(50 * 2 ** Math.min(attempt, 4), 500) * (0.5 + Math.random() / 2));
    }
  }
  try {
    return await fn();
  } finally {
    await table.deleteEntity(partitionKey, rowKey, { etag }).catch(() => undefined);
  }
}
