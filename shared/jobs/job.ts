/**
 * Timer and queue jobs declared once, like the HTTP operations (`http/operation.ts`): name,
 * trigger (schedule or queue, from the app's configuration) and what a run does with the app's
 * services. Importing a declaration registers nothing: `functions/lib/register.ts` does.
 */
import type { TriggerSettings } from '../config/app-config.js';

/** A job's structured log: one JSON line per event, through the host's invocation log. */
export type JobLog = (event: string, fields?: Record<string, unknown>) => void;

export interface TimerJob<Services> {
  /** The Azure Function's name. */
  readonly name: string;
  /** Its NCRONTAB schedule, from the configuration's trigger settings. */
  readonly schedule: (triggers: TriggerSettings) => string;
  /** Run once as the app starts, as well as on schedule. */
  readonly runOnStartup?: boolean;
  run(services: Services, log: JobLog): Promise<void>;
}

export interface QueueJob<Services> {
  /** The Azure Function's name. */
  readonly name: string;
  /** The storage queue it reads, from the configuration's trigger settings. */
  readonly queueName: (triggers: TriggerSettings) => string;
  /** The app setting that names the queue's storage account. */
  readonly connection: string;
  /** Handles one message; throwing makes the host retry it (and poison it after `maxDequeueCount`). */
  run(message: unknown, services: Services, log: JobLog): Promise<void>;
}
