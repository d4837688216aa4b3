import { ingestLandingJob } from '../shared/jobs/ingestion.js';
import { registerQueue } from './lib/register.js';

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
registerQueue(ingestLandingJob);
