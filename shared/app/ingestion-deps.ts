import type { AppServices } from './services.js';
import { recordWaitingFile, WAITING_FILES_TABLE } from '../cmk/waiting-files.js';
import { pgpKeyDeps } from './pgp-key-deps.js';
import type { IngestionDeps, LandedBlobVersion } from '../ingestion/ingest-landed-file.js';
import { parkFile, PARKED_FILES_TABLE } from '../ingestion/parked-files.js';

/**
 * The ingestion's collaborators as every function that ingests landed blobs wires them (the blob
 * trigger, the retry timer, the CMK reconciler): a revoked customer key puts the blob in
 * `cmkwaiting` for the reconciler, an unavailable vault parks it in `ingestparked` for the retry timer.
 * Files are limited by the `MAX_FILE_BYTES`, `MAX_COMPRESSION_RATIO` and `MAX_PKESK_PER_MESSAGE`
 * settings, and decrypted by the app's private-key pool.
 */
export async function landingIngestionDeps(
  services: AppServices,
  log: (event: string, fields: Record<string, unknown>) => void,
): Promise<IngestionDeps> {
  const waiting = await services.tables(WAITING_FILES_TABLE);
  const parked = await services.tables(PARKED_FILES_TABLE);
  return {
    tables: services.tables,
    objects: services.objects,
    keys: pgpKeyDeps(services),
    privateKeys: services.privateKeys,
    maxFileBytes: services.config.triggers.maxFileBytes,
    maxCompressionRatio: services.config.triggers.maxCompressionRatio,
    maxSessionKeyPackets: services.config.triggers.maxSessionKeyPackets,
    log,
    wait: async (file, reason) => {
      if (reason === 'cmk-access-revoked') await recordWaitingFile(waiting, file, new Date());
      else await parkFile(parked, file, new Date());
    },
  };
}

/** The landed blob a waiting record or an event names, on the landing account (never the internal one). */
export function landedVersion(services: AppServices, file: { readonly container: string; readonly blobName: string; readonly etag?: string }): LandedBlobVersion {
  const blob = services.landing.blobs.getContainerClient(file.container).getBlobClient(file.blobName);
  return file.etag === undefined ? { blob } : { blob, etag: file.etag };
}
