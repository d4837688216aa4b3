import { z } from 'zod';
import { MAX_COMPRESSION_RATIO, MAX_FILE_BYTES, MAX_PKESK_PER_MESSAGE } from './pgp/config.js';

/**
 * Settings the triggers need: what their registrations name when the app loads (a blob path,
 * timer schedules) and the ingestion's file size limit, with the defaults the issues name.
 * Registration metadata is produced as the worker loads the app, so a malformed setting stops the
 * start there; defaults work in Azure and locally alike, and an app setting overrides them.
 */
export interface TriggerSettings {
  /** The queue of the landing account's BlobCreated events, in the app's storage (`LANDING_EVENTS_QUEUE`, default `landing-events`). */
  readonly landingEventsQueue: string;
  /** NCRONTAB of deleting landing-zone files past their TTL (`LANDING_TTL_SCHEDULE`, default hourly at minute 30). */
  readonly landingTtlSchedule: string;
  /** NCRONTAB of the CMK reconciler (`CMK_RECONCILE_SCHEDULE`, default every minute). */
  readonly cmkReconcileSchedule: string;
  /** NCRONTAB of the HPKE key rotation (`HPKE_ROTATE_SCHEDULE`, default hourly at minute 5). */
  readonly hpkeRotateSchedule: string;
  /** NCRONTAB of following a rotation of the system KEK (`SYSTEM_KEK_ROTATE_SCHEDULE`, default hourly at minute 0). */
  readonly systemKekRotateSchedule: string;
  /** NCRONTAB of the retry of files parked during a Key Vault outage (`INGEST_RETRY_SCHEDULE`, default every 15 s). */
  readonly ingestRetrySchedule: string;
  /**
   * Largest decrypted file ingested, in bytes (`MAX_FILE_BYTES`, default 1 GiB as Adobe's limit);
   * bigger files fail with FILE_TOO_LARGE.
   */
  readonly maxFileBytes: number;
  /**
   * Most decompressed bytes per compressed byte at every inflate of an ingested file
   * (`MAX_COMPRESSION_RATIO`, default 250), checked once an inflate's output passes 4 MiB; a file
   * past it fails with COMPRESSION_RATIO_EXCEEDED.
   */
  readonly maxCompressionRatio: number;
  /**
   * Most session key packets naming the flow's key or a hidden recipient tried per message
   * (`MAX_PKESK_PER_MESSAGE`, default 16); a file with more fails with TOO_MANY_RECIPIENTS.
   */
  readonly maxSessionKeyPackets: number;
}

// Six space-separated NCRONTAB fields (seconds first); the runtime parses them fully.
const ncrontab = z.string().trim().regex(/^(\S+\s+){5}\S+$/, 'must be a 6-field NCRONTAB expression');

// Digits only: `Number()` would also take "1e9", "0x10" or "" (0).
const byteCount = z
  .string()
  .trim()
  .regex(/^[1-9][0-9]*$/, 'must be a positive whole number of bytes')
  .transform(Number)
  .refine(Number.isSafeInteger, `must be at most ${Number.MAX_SAFE_INTEGER} bytes`);

const Env = z.object({
  LANDING_EVENTS_QUEUE: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a storage queue name').default('landing-events'),
  LANDING_TTL_SCHEDULE: ncrontab.default('0 30 * * * *'),
  CMK_RECONCILE_SCHEDULE: ncrontab.default('0 */1 * * * *'),
  HPKE_ROTATE_SCHEDULE: ncrontab.default('0 5 * * * *'),
  SYSTEM_KEK_ROTATE_SCHEDULE: ncrontab.default('0 0 * * * *'),
  INGEST_RETRY_SCHEDULE: ncrontab.default('*/15 * * * * *'),
  MAX_FILE_BYTES: byteCount.default(MAX_FILE_BYTES),
  MAX_COMPRESSION_RATIO: z
    .string()
    .trim()
    .regex(/^[1-9][0-9]{0,8}$/, 'must be a whole number from 1 to 999999999')
    .transform(Number)
    .default(MAX_COMPRESSION_RATIO),
  MAX_PKESK_PER_MESSAGE: z
    .string()
    .trim()
    .regex(/^[1-9][0-9]{0,2}$/, 'must be a whole number from 1 to 999')
    .transform(Number)
    .default(MAX_PKESK_PER_MESSAGE),
});

/** @throws Error naming the malformed setting: the app must not start with it. */
export function triggerSettings(env: Readonly<Record<string, string | undefined>> = process.env): TriggerSettings {
  const result = Env.safeParse(env);
  if (!result.success) {
    throw new Error(`Invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return {
    landingEventsQueue: result.data.LANDING_EVENTS_QUEUE,
    landingTtlSchedule: result.data.LANDING_TTL_SCHEDULE,
    cmkReconcileSchedule: result.data.CMK_RECONCILE_SCHEDULE,
    hpkeRotateSchedule: result.data.HPKE_ROTATE_SCHEDULE,
    systemKekRotateSchedule: result.data.SYSTEM_KEK_ROTATE_SCHEDULE,
    ingestRetrySchedule: result.data.INGEST_RETRY_SCHEDULE,
    maxFileBytes: result.data.MAX_FILE_BYTES,
    maxCompressionRatio: result.data.MAX_COMPRESSION_RATIO,
    maxSessionKeyPackets: result.data.MAX_PKESK_PER_MESSAGE,
  };
}
