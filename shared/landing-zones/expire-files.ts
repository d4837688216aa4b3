import type { BlobServiceClient } from '@azure/storage-blob';
import { isNotFound, isPreconditionFailed } from '../core/azure-errors.js';
import type { TableFactory } from '../storage/tenant-table.js';
import { listLandingZones } from './landing-zones.js';
import type { Clock } from '../core/clock.js';

/** A landed file the TTL removed. */
export interface ExpiredFile {
  readonly orgId: string;
  readonly sandbox: string;
  readonly container: string;
  readonly blobName: string;
  readonly etag: string;
}

export interface ExpireLandingFilesDeps {
  readonly tables: TableFactory;
  /** The landing account. */
  readonly blobs: BlobServiceClient;
  readonly clock: Clock;
  /** `LANDING_ZONE_TTL_DAYS`. */
  readonly ttlDays: number;
  /** Told of each file deleted (after the delete), so work waiting on it can end. */
  readonly onExpired?: (file: ExpiredFile) => Promise<void>;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface ExpirySummary {
  readonly zones: number;
  readonly deleted: number;
}

/**
 * Deletes every landing-zone file last written more than `ttlDays` ago (Adobe's Data Landing Zone
 * keeps files 7 days), zone by zone: what a lifecycle management rule does on the landing account
 * in Azure, for the local stack. Each delete is conditional on the ETag that was listed, so a file
 * uploaded again meanwhile stays. Runs and batches are kept: they live in internal storage.
 */
export async function expireLandingFiles(deps: ExpireLandingFilesDeps): Promise<ExpirySummary> {
  const cutoff = deps.clock.now() - deps.ttlDays * 86_400_000;
  let zones = 0;
  let deleted = 0;
  for await (const zone of listLandingZones(deps.tables)) {
    zones += 1;
    const container = deps.blobs.getContainerClient(zone.containerName);
    try {
      for await (const item of container.listBlobsFlat()) {
        const written = item.properties.lastModified.getTime();
        const etag = item.properties.etag;
        if (written > cutoff || etag === undefined) continue;
        try {
          await container.getBlobClient(item.name).delete({ conditions: { ifMatch: etag } });
        } catch (err) {
          // Rewritten (412) or already deleted (404) since the listing.
          if (isPreconditionFailed(err) || isNotFound(err)) continue;
          throw err;
        }
        deleted += 1;
        await deps.onExpired?.({ orgId: zone.orgId, sandbox: zone.sandbox, container: zone.containerName, blobName: item.name, etag });
      }
    } catch (err) {
      // A zone whose container is gone (its sandbox was deleted) has nothing to expire.
      if (!isNotFound(err)) throw err;
    }
  }
  if (deleted > 0) deps.log?.('landing-files-expired', { zones, deleted });
  return { zones, deleted };
}
