import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { landedBlobRowKey as rowKey } from '../ingestion/landed-file.js';
import { statusOf } from '../storage/tenant-table.js';

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

const Entity = z.object({ partitionKey: z.string(), container: z.string(), blobName: z.string(), blobETag: z.string().optional(), since: z.string() });

/**
 * Records that a landed blob waits for its org's key. The blob itself stays in the landing
 * zone untouched; the record is how it is found again once access returns (an event
 * arrives once per blob version, so nothing else would pick it up). Idempotent.
 */
export async function recordWaitingFile(table: TableClient, file: Omit<WaitingFile, 'since'>, now: Date): Promise<void> {
  try {
    await table.createEntity({
      partitionKey: file.orgId,
      rowKey: rowKey(file.container, file.blobName),
      container: file.container,
      blobName: file.blobName,
      ...(file.etag === undefined ? {} : { blobETag: file.etag }),
      since: now.toISOString(),
    });
  } catch (err) {
    if (statusOf(err) !== 409) throw err;
  }
}

/** The org's waiting files, oldest record first within Table order. */
export async function listWaitingFiles(table: TableClient, orgId: string): Promise<WaitingFile[]> {
  const out: WaitingFile[] = [];
  for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${orgId}` } })) {
    const e = Entity.parse(entity);
    out.push({ orgId: e.partitionKey, container: e.container, blobName: e.blobName, ...(e.blobETag === undefined ? {} : { etag: e.blobETag }), since: e.since });
  }
  return out;
}

/** Forgets a waiting file once it was ingested (or failed for good). */
export async function removeWaitingFile(table: TableClient, file: WaitingFile): Promise<void> {
  try {
    await table.deleteEntity(file.orgId, rowKey(file.container, file.blobName));
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}
