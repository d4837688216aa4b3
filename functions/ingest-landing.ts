import { app, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { parseBlobCreatedEvent } from '../shared/ingestion/blob-created-event.js';
import { ingestLandedBlob } from '../shared/ingestion/ingest-landed-file.js';
import { landedVersion, landingIngestionDeps } from '../shared/ingestion/landing-ingestion.js';
import { triggerSettings } from '../shared/trigger-settings.js';

/**
 * Decrypts and ingests each file that lands in a landing zone: the landing account's Event Grid
 * subscription puts one BlobCreated event per upload on the `LANDING_EVENTS_QUEUE` queue of the
 * app's storage, at least once; the ingestion is idempotent per blob version. The zone's owner is
 * looked up from the container, never read from the blob name. A final failure is recorded on the
 * flow run and the blob stays where it is. A revoked customer key or an unavailable vault parks
 * the file (no retries, no poison) for the CMK reconciler or the retry timer; another transient
 * fault throws so the host retries the message, and the run fails with RETRIES_EXHAUSTED on the
 * fifth failed attempt (the host's `maxDequeueCount`, after which it moves the message to
 * `{queue}-poison`).
 */
export async function ingestLanding(message: unknown, ctx: InvocationContext): Promise<void> {
  const event = parseBlobCreatedEvent(message);
  if (event === undefined) {
    ctx.log(JSON.stringify({ event: 'ingestion-event-ignored', reason: 'not-a-blob-created-event' }));
    return;
  }
  const services = await appServices();
  const deps = await landingIngestionDeps(services, (name, fields) => ctx.log(JSON.stringify({ event: name, ...fields })));
  const outcome = await ingestLandedBlob(deps, landedVersion(services, { container: event.container, blobName: event.blobName, etag: event.etag }));
  ctx.log(JSON.stringify({ event: 'ingestion-outcome', container: event.container, blob: event.blobName, ...outcome }));
}

app.storageQueue('ingest-landing', {
  queueName: triggerSettings().landingEventsQueue,
  connection: 'AzureWebJobsStorage',
  handler: ingestLanding,
});
