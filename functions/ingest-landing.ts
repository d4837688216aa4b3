import { app, type InvocationContext } from '@azure/functions';
import type { BlobClient } from '@azure/storage-blob';
import './lib/app-setup.js';
import { triggerSettings } from '../shared/trigger-settings.js';
import './lib/blob-binding.js';
import { appServices } from '../shared/azure/app-services.js';
import { ingestLandedBlob } from '../shared/ingestion/ingest-landed-file.js';
import { landingIngestionDeps } from '../shared/ingestion/landing-ingestion.js';

/**
 * Decrypts and ingests each file that lands in the landing container (at least once per blob
 * version; the ingestion is idempotent). A final failure is recorded on the flow run and the blob
 * stays where it is. A revoked customer key or an unavailable vault parks the file (no retries, no
 * poison) for the CMK reconciler or the retry timer; another transient fault throws so the host
 * retries, and the run fails with RETRIES_EXHAUSTED on the fifth failed attempt.
 */
export async function ingestLanding(blob: BlobClient, ctx: InvocationContext): Promise<void> {
  const services = await appServices();
  const deps = await landingIngestionDeps(services, (event, fields) => ctx.log(JSON.stringify({ event, ...fields })));
  const outcome = await ingestLandedBlob(deps, blob);
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
