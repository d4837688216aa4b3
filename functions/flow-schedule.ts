import { startDueRunsJob } from '../shared/jobs/ingestion.js';
import { registerTimer } from './lib/register.js';

/**
 * Starts the due runs of dataflows that read a customer's storage (Azure Blob, SFTP), each on its
 * own `scheduleParams`, checked every `FLOW_SCHEDULE_SCHEDULE` (15 s by default): puts one scan
 * job per due run on the ingestion queue, where `ingest-landing` lists the source and enqueues one
 * job per new file version, so transfers run in parallel across instances. The host runs one
 * timer listener at a time; a second one would only enqueue a scan its run already had, which
 * the scan skips.
 */
registerTimer(startDueRunsJob);
