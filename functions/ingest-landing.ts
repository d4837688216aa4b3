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
//
// The same queue carries the jobs of scheduled dataflows that read a customer's storage (see
// `flow-schedule`): a scan lists the source and enqueues a job per file version not taken before;
// a file job streams that version through the same pipeline, once. A source that cannot be read
// records the scheduled run with its code (SOURCE_UNREACHABLE, SOURCE_AUTH_FAILED, ...) and the
// file waits for the next scheduled run.
registerQueue(ingestLandingJob);
