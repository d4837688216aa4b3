/** Ingestion: each landed file, each scheduled run of a customer's storage, the parked files' retries, and the landing zones' TTL. */
import type { AppServices } from '../app/services.js';
import { WAITING_FILES_TABLE } from '../cmk/waiting-files.js';
import { parseBlobCreatedEvent } from '../ingestion/blob-created-event.js';
import { endExpiredWait } from '../ingestion/end-expired-wait.js';
import { ingestLandedBlob } from '../ingestion/ingest-landed-file.js';
import { landedVersion, landingIngestionDeps } from '../app/ingestion-deps.js';
import { PARKED_FILES_TABLE } from '../ingestion/parked-files.js';
import { retryParkedFiles } from '../ingestion/retry-parked-files.js';
import { expireLandingFiles } from '../landing-zones/expire-files.js';
import type { QueueJob, TimerJob } from './job.js';
import { ingestSourceFile } from '../ingestion/ingest-source-file.js';
import { scanSource } from '../ingestion/scan-source.js';
import { parseSourceJob, SCAN_JOB } from '../ingestion/source-jobs.js';
import { startDueRuns } from '../ingestion/start-due-runs.js';

/** Registered and described by `functions/ingest-landing.ts`. */
export const ingestLandingJob: QueueJob<AppServices> = {
  name: 'ingest-landing',
  queueName: (t) => t.landingEventsQueue,
  connection: 'AzureWebJobsStorage',
  async run(message, services, log) {
    const event = parseBlobCreatedEvent(message);
    if (event === undefined) {
      const job = parseSourceJob(message);
      if (job === undefined) {
        log('ingestion-event-ignored', { reason: 'not-a-blob-created-event' });
        return;
      }
      const { connections, enqueue } = services.sources;
      if (job.kind === SCAN_JOB) {
        const outcome = await scanSource({ connections, enqueue, clock: services.clock, log }, job);
        log('source-scan-outcome', { flowId: job.flowId, tick: job.tick, ...outcome });
      } else {
        const outcome = await ingestSourceFile(await landingIngestionDeps(services, log), connections, job);
        log('source-file-outcome', { flowId: job.flowId, ...outcome });
      }
      return;
    }
    const deps = await landingIngestionDeps(services, log);
    const outcome = await ingestLandedBlob(deps, landedVersion(services, { container: event.container, blobName: event.blobName, etag: event.etag }));
    log('ingestion-outcome', { container: event.container, blob: event.blobName, ...outcome });
  },
};

/** Registered and described by `functions/ingest-retry.ts`. */
export const retryParkedIngestionJob: TimerJob<AppServices> = {
  name: 'ingest-retry',
  schedule: (t) => t.ingestRetrySchedule,
  async run(services, log) {
    const ingestion = await landingIngestionDeps(services, log);
    await retryParkedFiles({
      table: await services.tables(PARKED_FILES_TABLE),
      clock: services.clock,
      log,
      ingest: (file) => ingestLandedBlob(ingestion, landedVersion(services, file)),
    });
  },
};

/** Registered and described by `functions/landing-ttl.ts`. */
export const expireLandingFilesJob: TimerJob<AppServices> = {
  name: 'landing_ttl',
  schedule: (t) => t.landingTtlSchedule,
  async run(services, log) {
    const waits = {
      ingestion: await landingIngestionDeps(services, log),
      blobs: services.landing.blobs,
      parked: await services.tables(PARKED_FILES_TABLE),
      waiting: await services.tables(WAITING_FILES_TABLE),
    };
    await expireLandingFiles({
      tables: services.tables,
      blobs: services.landing.blobs,
      clock: services.clock,
      ttlDays: services.config.landing.ttlDays,
      log,
      onExpired: async (file) => {
        await endExpiredWait(waits, file);
      },
    });
  },
};

/** Registered and described by `functions/flow-schedule.ts`. */
export const startDueRunsJob: TimerJob<AppServices> = {
  name: 'flow-schedule',
  schedule: (t) => t.flowScheduleSchedule,
  async run(services, log) {
    await startDueRuns({ tables: services.tables, enqueue: services.sources.enqueue, clock: services.clock, log });
  },
};
