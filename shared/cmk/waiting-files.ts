import type { TableClient } from '@azure/data-tables';
import type { z } from 'zod';
import { LandedFileColumns, landedBlobRowKey, landedFileColumns, landedFileOf } from '../storage/blob-row-key.js';
import { byOrg, tableRepository, type TableCodec } from '../storage/tenant-table.js';
import type { OrgScope } from '../core/scope.js';

/** Landed files waiting for their org's customer key: PartitionKey = org id, RowKey = base64url(container/blob). */
export const WAITING_FILES_TABLE = 'cmkwaiting';

/** A landed blob whose ingestion stopped because the org's CMK access is revoked. */
export interface WaitingFile {
  readonly orgId: string;
  readonly container: string;
  readonly blobName: string;
  /** The version that waits (absent on records written before versions were kept). */
  readonly etag?: string;
  readonly since: string;
}

const codec: TableCodec<WaitingFile, OrgScope, z.input<typeof LandedFileColumns>> = {
  toEntity: landedFileColumns,
  fromEntity: (row, { orgId }) => ({ orgId, ...landedFileOf(LandedFileColumns.parse(row)) }),
};

const waitingFiles = (table: TableClient, orgId: string) => tableRepository(table, byOrg, codec).in({ orgId });

/**
 * Records that a landed blob waits for its org's key. The blob itself stays in the landing
 * zone untouched; the record is how it is found again once access returns (an event
 * arrives once per blob version, so nothing else would pick it up). Idempotent.
 */
export async function recordWaitingFile(table: TableClient, file: Omit<WaitingFile, 'since'>, now: Date): Promise<void> {
  await waitingFiles(table, file.orgId).insertIfAbsent({ ...file, since: now.toISOString() });
}

/** The org's waiting files, oldest record first within Table order. */
export async function listWaitingFiles(table: TableClient, orgId: string): Promise<WaitingFile[]> {
  const out: WaitingFile[] = [];
  for await (const file of waitingFiles(table, orgId).list()) out.push(file);
  return out;
}

/** Whether a landed blob waits for its org's key (one point read). */
export async function isWaitingFile(table: TableClient, file: Pick<WaitingFile, 'orgId' | 'container' | 'blobName'>): Promise<boolean> {
  return waitingFiles(table, file.orgId).exists(landedBlobRowKey(file.container, file.blobName));
}

/** Forgets a waiting file once it was ingested (or failed for good). */
export async function removeWaitingFile(table: TableClient, file: Pick<WaitingFile, 'orgId' | 'container' | 'blobName'>): Promise<void> {
  await waitingFiles(table, file.orgId).delete(landedBlobRowKey(file.container, file.blobName));
}
