import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { HpkeReplayError } from '../errors.js';
import { isConflict } from '../storage/tenant-table.js';
import { MAX_TIMESTAMP_SKEW_SECONDS } from './key-lifecycle.js';

/** Table of the `enc` values seen: shared by every instance, since Functions scale out. */
export const REPLAY_TABLE = 'hpkereplay';
/**
 * How long an `enc` is remembered: a request with timestamp T is accepted while server time is
 * within T ± skew, so twice the skew after first sight covers every later acceptance of it.
 */
export const REPLAY_RETENTION_MS = 2 * MAX_TIMESTAMP_SKEW_SECONDS * 1000;

interface ReplayEntity {
  partitionKey: string;
  rowKey: string;
  expiresAt: number;
}

/** The cache of request `enc` values. */
export interface ReplayCache {
  /** Records `enc` for `keyId`. @throws HPKE_REPLAY when it was already seen within the window. */
  remember(keyId: number, enc: Uint8Array, now: number): Promise<void>;
  /** Deletes entries past their retention (run by the rotation timer); returns how many. */
  purge(now: number): Promise<number>;
}

/** Builds the cache over its table. Rows are keyed by SHA-256(keyId || enc), spread over 256 partitions. */
export function createReplayCache(table: () => Promise<TableClient>): ReplayCache {
  return {
    async remember(keyId, enc, now) {
      const digest = createHash('sha256').update(Buffer.of(keyId)).update(enc).digest('hex');
      const entity: ReplayEntity = { partitionKey: digest.slice(0, 2), rowKey: digest, expiresAt: now + REPLAY_RETENTION_MS };
      const t = await table();
      try {
        await t.createEntity(entity);
      } catch (err) {
        if (!isConflict(err)) throw err;
        const seen = await t.getEntity<ReplayEntity>(entity.partitionKey, entity.rowKey);
        if (seen.expiresAt > now) throw new HpkeReplayError();
        // An expired row (not yet purged): this is a new sighting, but only one instance may win it.
        try {
          await t.updateEntity(entity, 'Replace', seen.etag === undefined ? {} : { etag: seen.etag });
        } catch (again) {
          if (isConflict(again)) throw new HpkeReplayError();
          throw again;
        }
      }
    },
    async purge(now) {
      const t = await table();
      let purged = 0;
      for await (const e of t.listEntities<ReplayEntity>({ queryOptions: { filter: `expiresAt lt ${now}L` } })) {
        try {
          await t.deleteEntity(e.partitionKey, e.rowKey, e.etag === undefined ? {} : { etag: e.etag });
          purged++;
        } catch (err) {
          if (!isConflict(err) && (err as { statusCode?: unknown }).statusCode !== 404) throw err;
        }
      }
      return purged;
    },
  };
}
