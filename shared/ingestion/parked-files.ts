import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { isConflict, statusOf } from '../storage/tenant-table.js';
import { landedBlobRowKey as rowKey } from './landed-file.js';

/**
 * Landed files parked while Key Vault is unavailable: PartitionKey = org id,
 * RowKey = base64url(container/blob). The blob itself stays in its landing zone untouched.
 */
export const PARKED_FILES_TABLE = 'ingestparked';

/** First wait after a file is parked, doubled per further attempt up to {@link MAX_PARK_DELAY_MS}. */
export const FIRST_PARK_DELAY_MS = 15_000;
export const MAX_PARK_DELAY_MS = 5 * 60_000;

/** A landed blob waiting for Key Vault to answer again. */
export interface ParkedFile {
  readonly orgId: string;
  readonly container: string;
  readonly blobName: string;
  /** The version that waits (absent on records written before versions were kept). */
  readonly etag?: string;
  /** When it was first parked (ISO 8601). */
  readonly since: string;
  /** How many ingestion attempts found the vault unavailable. */
  readonly attempts: number;
  /** Not retried before this time (ISO 8601, so that string order is time order). */
  readonly nextAttemptAt: string;
}

const Entity = z.object({
  partitionKey: z.string(),
  container: z.string(),
  blobName: z.string(),
  blobETag: z.string().optional(),
  since: z.string(),
  attempts: z.number().int().min(1),
  nextAttemptAt: z.string(),
  etag: z.string(),
});

/**
 * The wait after the `attempts`-th attempt found the vault unavailable: exponential (15 s, 30 s,
 * 1 min, ... capped at 5 min) with jitter (a random 50-100 % of it), so files parked together
 * during an outage do not all retry in the same instant when it ends.
 */
export function parkDelayMs(attempts: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_PARK_DELAY_MS, FIRST_PARK_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential * (0.5 + 0.5 * random()));
}

/**
 * Parks a landed blob (or counts one more attempt for one already parked) and schedules its next
 * attempt. Concurrent parkers of the same blob both succeed; one of their counts may be lost,
 * which only shortens one wait.
 */
export async function parkFile(
  table: TableClient,
  file: { readonly orgId: string; readonly container: string; readonly blobName: string; readonly etag?: string },
  now: Date,
  random: () => number = Math.random,
): Promise<ParkedFile> {
  const key = rowKey(file.container, file.blobName);
  const existing = await readParked(table, file.orgId, key);
  const attempts = (existing?.attempts ?? 0) + 1;
  const parked: ParkedFile = {
    orgId: file.orgId,
    container: file.container,
    blobName: file.blobName,
    ...(file.etag === undefined ? {} : { etag: file.etag }),
    since: existing?.since ?? now.toISOString(),
    attempts,
    nextAttemptAt: new Date(now.getTime() + parkDelayMs(attempts, random)).toISOString(),
  };
  const entity = {
    partitionKey: file.orgId,
    rowKey: key,
    container: parked.container,
    blobName: parked.blobName,
    ...(parked.etag === undefined ? {} : { blobETag: parked.etag }),
    since: parked.since,
    attempts: parked.attempts,
    nextAttemptAt: parked.nextAttemptAt,
  };
  try {
    if (existing === undefined) await table.createEntity(entity);
    else await table.updateEntity(entity, 'Replace', { etag: existing.etag });
  } catch (err) {
    // Another attempt parked or counted it meanwhile: its record stands.
    if (!isConflict(err)) throw err;
  }
  return parked;
}

/** Parked files whose next attempt is due, across every org, at most `limit`, in table order. */
export async function dueParkedFiles(table: TableClient, now: Date, limit: number): Promise<ParkedFile[]> {
  const out: ParkedFile[] = [];
  const filter = odata`nextAttemptAt le ${now.toISOString()}`;
  for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
    out.push(toParked(Entity.parse(entity)));
    if (out.length >= limit) break;
  }
  return out;
}

/** Every parked file of one org (for its runs' status and for tests). */
export async function listParkedFiles(table: TableClient, orgId: string): Promise<ParkedFile[]> {
  const out: ParkedFile[] = [];
  for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${orgId}` } })) {
    out.push(toParked(Entity.parse(entity)));
  }
  return out;
}

/** Forgets a parked file once an attempt settled it (ingested, failed for good, or gone). */
export async function unparkFile(table: TableClient, file: Pick<ParkedFile, 'orgId' | 'container' | 'blobName'>): Promise<void> {
  try {
    await table.deleteEntity(file.orgId, rowKey(file.container, file.blobName));
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

async function readParked(table: TableClient, orgId: string, key: string): Promise<(ParkedFile & { etag: string }) | undefined> {
  try {
    const e = Entity.parse(await table.getEntity(orgId, key));
    return { ...toParked(e), etag: e.etag };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

function toParked(e: z.infer<typeof Entity>): ParkedFile {
  return {
    orgId: e.partitionKey,
    container: e.container,
    blobName: e.blobName,
    ...(e.blobETag === undefined ? {} : { etag: e.blobETag }),
    since: e.since,
    attempts: e.attempts,
    nextAttemptAt: e.nextAttemptAt,
  };
}
