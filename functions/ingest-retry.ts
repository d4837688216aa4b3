import { app, type InvocationContext, type Timer } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { ingestLandedBlob } from '../shared/ingestion/ingest-landed-file.js';
import { landedVersion, landingIngestionDeps } from '../shared/ingestion/landing-ingestion.js';
import { PARKED_FILES_TABLE } from '../shared/ingestion/parked-files.js';
import { retryParkedFiles } from '../shared/ingestion/retry-parked-files.js';
import { triggerSettings } from '../shared/trigger-settings.js';

/**
 * Ingests again the landed files parked while Key Vault was unavailable, each when its backoff is
 * due (`INGEST_RETRY_SCHEDULE`, every 15 s by default). The host runs one listener at a time; the
 * ingestion is idempotent per blob version, so a second one would be harmless anyway.
 */
export async function retryParkedIngestion(_timer: Timer, ctx: InvocationContext): Promise<void> {
  const services = await appServices();
  const log = (event: string, fields: Record<string, unknown>): void => ctx.log(JSON.stringify({ event, ...fields }));
  const ingestion = await landingIngestionDeps(services, log);
  await retryParkedFiles({
    table: await services.tables(PARKED_FILES_TABLE),
    clock: () => new Date(),
    log,
    ingest: (file) => ingestLandedBlob(ingestion, landedVersion(services, file)),
  });
}

app.timer('ingest-retry', { schedule: triggerSettings().ingestRetrySchedule, handler: retryParkedIngestion });
