import { app, type InvocationContext, type Timer } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { WAITING_FILES_TABLE } from '../shared/cmk/waiting-files.js';
import { endExpiredWait } from '../shared/ingestion/end-expired-wait.js';
import { landingIngestionDeps } from '../shared/ingestion/landing-ingestion.js';
import { PARKED_FILES_TABLE } from '../shared/ingestion/parked-files.js';
import { expireLandingFiles } from '../shared/landing-zones/expire-files.js';
import { triggerSettings } from '../shared/trigger-settings.js';

/**
 * Deletes landing-zone files `LANDING_ZONE_TTL_DAYS` (7) after their upload, as Adobe's Data
 * Landing Zone does (`LANDING_TTL_SCHEDULE`, hourly). In Azure the landing account's lifecycle
 * management rule does this and the app setting `AzureWebJobs_landing_ttl_Disabled` turns the timer
 * off; locally it is the rule. A file still waiting (vault outage, revoked customer key) when it
 * expires ends its run failed with FILE_EXPIRED, never in progress for ever.
 */
export async function expireLandingZoneFiles(_timer: Timer, ctx: InvocationContext): Promise<void> {
  const services = await appServices();
  const log = (event: string, fields: Record<string, unknown>): void => ctx.log(JSON.stringify({ event, ...fields }));
  const waits = {
    ingestion: await landingIngestionDeps(services, log),
    blobs: services.landing.blobs,
    parked: await services.tables(PARKED_FILES_TABLE),
    waiting: await services.tables(WAITING_FILES_TABLE),
  };
  await expireLandingFiles({
    tables: services.tables,
    blobs: services.landing.blobs,
    clock: () => new Date(),
    ttlDays: services.config.landing.ttlDays,
    log,
    onExpired: async (file) => {
      await endExpiredWait(waits, file);
    },
  });
}

// `landing_ttl`, not `landing-ttl`: on Linux, Azure can disable only a function whose name has no
// hyphen (the app setting `AzureWebJobs_landing_ttl_Disabled`, infra/resources.bicep).
app.timer('landing_ttl', { schedule: triggerSettings().landingTtlSchedule, handler: expireLandingZoneFiles });
