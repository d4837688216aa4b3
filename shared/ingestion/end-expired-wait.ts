import type { TableClient } from '@azure/data-tables';
import type { BlobServiceClient } from '@azure/storage-blob';
import { isWaitingFile, removeWaitingFile } from '../cmk/waiting-files.js';
import { ingestLandedBlob, type IngestionDeps } from './ingest-landed-file.js';
import { isParkedFile, unparkFile } from './parked-files.js';

export interface EndExpiredWaitDeps {
  readonly ingestion: IngestionDeps;
  /** The landing account. */
  readonly blobs: BlobServiceClient;
  /** `ingestparked` (vault outage) and `cmkwaiting` (revoked customer key). */
  readonly parked: TableClient;
  readonly waiting: TableClient;
}

/**
 * After the TTL deleted a landed file: if it was parked for the vault or waiting for the org's
 * customer key, its runs end failed with FILE_EXPIRED (the ingestion finds the version gone) and
 * its record goes, so no run stays in progress for ever. A file that was not waiting costs two
 * point reads. No vault call is made.
 */
export async function endExpiredWait(
  deps: EndExpiredWaitDeps,
  file: { readonly orgId: string; readonly container: string; readonly blobName: string; readonly etag: string },
): Promise<boolean> {
  const [isParked, isWaiting] = await Promise.all([isParkedFile(deps.parked, file), isWaitingFile(deps.waiting, file)]);
  if (!isParked && !isWaiting) return false;
  const blob = deps.blobs.getContainerClient(file.container).getBlobClient(file.blobName);
  await ingestLandedBlob(deps.ingestion, { blob, etag: file.etag });
  if (isParked) await unparkFile(deps.parked, file);
  if (isWaiting) await removeWaitingFile(deps.waiting, file);
  return true;
}

