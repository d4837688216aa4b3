import { retryParkedIngestionJob } from '../shared/jobs/ingestion.js';
import { registerTimer } from './lib/register.js';

/**
 * Ingests again the landed files parked while Key Vault was unavailable, each when its backoff is
 * due (`INGEST_RETRY_SCHEDULE`, every 15 s by default). The host runs one listener at a time; the
 * ingestion is idempotent per blob version, so a second one would be harmless anyway.
 */
registerTimer(retryParkedIngestionJob);
