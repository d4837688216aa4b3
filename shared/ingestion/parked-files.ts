import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import type { OrgScope } from '../core/scope.js';
import { LandedFileColumns, landedBlobRowKey, landedFileColumns, landedFileOf } from '../storage/blob-row-key.js';
import { byOrg, tableRepository, where, type TableCodec } from '../storage/tenant-table.js';

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

const Entity = LandedFileColumns.extend({
  attempts: z.number().int().min(1),
  nextAttemptAt: z.string(),
  etag: z.string(),
});
type ParkedFileEntity = Omit<z.input<typeof Entity>, 'etag'>;

/** A parked file as read, with its row's ETag (a count is written only over the version read). */
type ParkedRecord = ParkedFile & { readonly rowEtag?: string };

const codec: TableCodec<ParkedRecord, OrgScope, ParkedFileEntity> = {
  toEntity: (file) => ({
    ...landedFileColumns(file),
    attempts: file.attempts,
    nextAttemptAt: file.nextAttemptAt,
  }),
  fromEntity(row, { orgId }) {
    const e = Entity.parse(row);
    return {
      orgId,
      ...landedFileOf(e),
      attempts: e.attempts,
      nextAttemptAt: e.nextAttemptAt,
      rowEtag: e.etag,
    };
  },
};

const parkedFiles = (table: TableClient) => tableRepository(table, byOrg, codec);

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
  const parkedFilesOfOrg = parkedFiles(table).in({ orgId: file.orgId });
  const existing = await parkedFilesOfOrg.find(landedBlobRowKey(file.container, file.blobName));
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
  // Another attempt parked or counted it meanwhile (nothing written here): its record stands.
  if (existing === undefined) await parkedFilesOfOrg.insertIfAbsent(parked);
  else await parkedFilesOfOrg.replace(parked, existing.rowEtag);
  return parked;
}

/** Parked files whose next attempt is due, across every org, at most `limit`, in table order. */
export async function dueParkedFiles(table: TableClient, now: Date, limit: number): Promise<ParkedFile[]> {
  const out: ParkedFile[] = [];
  for await (const file of parkedFiles(table).scan(where`nextAttemptAt le ${now.toISOString()}`)) {
    out.push(withoutRowEtag(file));
    if (out.length >= limit) break;
  }
  return out;
}

/** Every parked file of one org (for its runs' status and for tests). */
export async function listParkedFiles(table: TableClient, orgId: string): Promise<ParkedFile[]> {
  const out: ParkedFile[] = [];
  for await (const file of parkedFiles(table).in({ orgId }).list()) out.push(withoutRowEtag(file));
  return out;
}

/** Whether a landed blob is parked (one point read). */
export async function isParkedFile(table: TableClient, file: Pick<ParkedFile, 'orgId' | 'container' | 'blobName'>): Promise<boolean> {
  return parkedFiles(table).in({ orgId: file.orgId }).exists(landedBlobRowKey(file.container, file.blobName));
}

/** Forgets a parked file once an attempt settled it (ingested, failed for good, or gone). */
export async function unparkFile(table: TableClient, file: Pick<ParkedFile, 'orgId' | 'container' | 'blobName'>): Promise<void> {
  await parkedFiles(table).in({ orgId: file.orgId }).delete(landedBlobRowKey(file.container, file.blobName));
}

function withoutRowEtag({ rowEtag: _, ...file }: ParkedRecord): ParkedFile {
  return file;
}
