import { createHash } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { HpkeReplayError } from '../errors.js';
import { tableRepository, where, type Partitioning, type TableCodec, type TableRepository } from '../storage/tenant-table.js';
import { MAX_TIMESTAMP_SKEW_SECONDS } from './key-lifecycle.js';

/** Table of the `enc` values seen: shared by every instance, since Functions scale out. */
export const REPLAY_TABLE = 'hpkereplay';
/**
 * How long an `enc` is remembered: a request with timestamp T is accepted while server time is
 * within T ± skew, so twice the skew after first sight covers every later acceptance of it.
 */
export const REPLAY_RETENTION_MS = 2 * MAX_TIMESTAMP_SKEW_SECONDS * 1000;
/** Rows per partition: one per minute of request timestamps. */
export const REPLAY_PARTITION_SECONDS = 60;
/** The Table service's limit of operations in one transaction. */
const MAX_BATCH = 100;

/** One sighting of an `enc`: the minute of its request's timestamp and SHA-256(keyId || enc). */
interface Sighting {
  readonly minute: string;
  readonly digest: string;
  readonly expiresAt: number;
}

interface ReplayEntity {
  rowKey: string;
  expiresAt: number;
}

type Seen = Sighting & { readonly etag: string };

/** One partition per minute of request timestamps (PartitionKey = minutes since the epoch). */
const byMinute: Partitioning<string> = { key: (minute) => minute, parse: (partitionKey) => ({ scope: partitionKey }) };

const codec: TableCodec<Seen, string, ReplayEntity, Sighting> = {
  toEntity: (s) => ({ rowKey: s.digest, expiresAt: s.expiresAt }),
  fromEntity: (e, minute) => ({ minute, digest: e.rowKey, expiresAt: e.expiresAt, etag: e.etag }),
};

/** The cache of request `enc` values. */
export interface ReplayCache {
  /**
   * Records `enc` for `keyId`; resolves once the record is stored, so a request is accepted only
   * after every other instance would refuse its replay.
   * @param sentAt the request's `x-hpke-timestamp` (unix seconds), authenticated with it: a replay
   *   carries the same value, which picks the row's partition.
   * @throws HPKE_REPLAY when it was already seen within the window.
   */
  remember(keyId: number, enc: Uint8Array, now: number, sentAt: number): Promise<void>;
  /** Deletes entries past their retention (run by the rotation timer); returns how many. */
  purge(now: number): Promise<number>;
}

interface Pending {
  readonly sighting: Sighting;
  readonly now: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Builds the cache over its table. A row is keyed by SHA-256(keyId || enc) in the partition of
 * its request's timestamp minute, and inserted only if absent, so of two instances seeing the same
 * `enc` exactly one succeeds.
 *
 * Inserts are group-committed: while an insert into a partition is under way, the next requests'
 * rows for it wait and then go together in one Table transaction (atomic: all rows are stored or
 * none). Every request still waits for its own row to be stored, so the guarantee is that of one
 * insert per request, for one storage round trip per batch. A batch that fails (a replay among
 * its rows, a duplicate, an expired row still there) stored nothing and is retried row by row,
 * where each row gets its own answer. All rows of a minute share a partition: the Table service
 * serves about 2,000 rows per second to one partition, the ceiling of encrypted requests per
 * second this design carries.
 */
export function createReplayCache(table: () => Promise<TableClient>): ReplayCache {
  const sightings = tableRepository(table, byMinute, codec);
  const queues = new Map<string, Pending[]>();

  /** Stores the partition's queued rows, batch after batch, until its queue is empty. */
  async function drain(partitionKey: string, queue: Pending[]): Promise<void> {
    try {
      const t = await table();
      while (queue.length > 0) {
        const batch = queue.splice(0, MAX_BATCH);
        try {
          if (batch.length === 1) await insertOne(batch[0] as Pending);
          else await insertBatch(t, batch);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } catch (err) {
      for (const p of queue.splice(0)) p.reject(err);
    } finally {
      queues.delete(partitionKey);
    }
  }

  // A transaction is the one write the repository does not make: its rows come from the codec.
  async function insertBatch(t: TableClient, batch: Pending[]): Promise<void> {
    try {
      await t.submitTransaction(batch.map((p): TransactionAction => ['create', { ...sightings.in(p.sighting.minute).entity(p.sighting) }]));
    } catch {
      // Nothing of the batch was stored: each row again on its own, for its own answer.
      await Promise.all(batch.map((p) => insertOne(p)));
      return;
    }
    for (const p of batch) p.resolve();
  }

  /** One row: create it; if it exists, it is a replay unless expired (then one instance takes it over). */
  async function insertOne(p: Pending): Promise<void> {
    try {
      await createOrTakeOver(sightings, p.sighting, p.now);
      p.resolve();
    } catch (err) {
      p.reject(err);
    }
  }

  return {
    remember(keyId, enc, now, sentAt) {
      const digest = createHash('sha256').update(Buffer.of(keyId)).update(enc).digest('hex');
      const minute = String(Math.floor(sentAt / REPLAY_PARTITION_SECONDS));
      const sighting: Sighting = { minute, digest, expiresAt: now + REPLAY_RETENTION_MS };
      return new Promise<void>((resolve, reject) => {
        const queue = queues.get(minute);
        if (queue !== undefined) {
          queue.push({ sighting, now, resolve, reject });
          return;
        }
        const started: Pending[] = [{ sighting, now, resolve, reject }];
        queues.set(minute, started);
        void drain(minute, started);
      });
    },
    async purge(now) {
      let purged = 0;
      // expiresAt is written as a JavaScript number, which the table stores as a Double: compare
      // it with a Double literal. (An Int64 literal, `…L`, matches no row in Azure and fails in Azurite.)
      for await (const seen of sightings.scan(where`expiresAt lt ${Math.floor(now)}.0`)) {
        // Only as listed: a row taken over meanwhile (or purged by another instance) stays.
        if (await sightings.in(seen.minute).delete(seen.digest, seen.etag)) purged++;
      }
      return purged;
    },
  };
}

async function createOrTakeOver(sightings: TableRepository<Seen, string, ReplayEntity, Sighting>, sighting: Sighting, now: number): Promise<void> {
  const minute = sightings.in(sighting.minute);
  if ((await minute.insertIfAbsent(sighting)) !== undefined) return;
  const seen = await minute.find(sighting.digest);
  if (seen === undefined) throw new Error('A replay record vanished while it was being read');
  if (seen.expiresAt > now) throw new HpkeReplayError();
  // An expired row (not yet purged): this is a new sighting, but only one instance may win it.
  if ((await minute.replace(sighting, seen.etag)) === undefined) throw new HpkeReplayError();
}
