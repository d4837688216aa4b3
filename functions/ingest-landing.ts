import { app, type InvocationContext } from '@azure/functions';
import type { BlobClient } from '@azure/storage-blob';
import './lib/app-setup.js';
import { triggerSettings } from '../shared/trigger-settings.js';
import './lib/blob-binding.js';
import { appServices } from '../shared/azure/app-services.js';
import { recordWaitingFile, WAITING_FILES_TABLE } from '../shared/cmk/waiting-files.js';
import { ingestLandedBlob } from '../shared/ingestion/ingest-landed-file.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/**
 * Decrypts and ingests each file that lands in the landing container (at least once per blob
 * version; the ingestion is idempotent). A final failure is recorded on the flow run and the blob
 * stays where it is; a transient one throws so the host retries (5 attempts, then poison).
 */
export async function ingestLanding(blob: BlobClient, ctx: InvocationContext): Promise<void> {
  const services = await appServices();
  const waiting = await services.tables(WAITING_FILES_TABLE);
  const outcome = await ingestLandedBlob(
    {
      tables: services.tables,
      objects: services.objects,
      keys: pgpKeyDeps(services),
      log: (event, fields) => ctx.log(JSON.stringify({ event, ...fields })),
      // A revoked customer key parks the file (no retries, no poison); the CMK reconciler resumes it.
      waitForKey: (file) => recordWaitingFile(waiting, file, new Date()),
    },
    blob,
  );
  ctx.log(JSON.stringify({ event: 'ingestion-outcome', blob: blob.name, ...outcome }));
}

app.storageBlob('ingest-landing', {
  path: `${triggerSettings().landingContainer}/{name}`,
  connection: 'AzureWebJobsStorage',
  // Flex Consumption runs blob triggers from Event Grid; the SDK binding passes a BlobClient.
  source: 'EventGrid',
  sdkBinding: true,
  handler: ingestLanding,
});
