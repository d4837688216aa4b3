import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlobServiceClient, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { Cron } from 'croner';
import { isAlreadyExists, isConflict, isNotFound } from '../../shared/core/azure-errors.js';
import type { Registration } from './core-api.js';
import type { RpcBindingInfo } from './core-types.js';
import type { ListenerContext, TriggerListener } from './host.js';
import { triggerOf } from './http-host.js';
import { invoke } from './invoke.js';
import { storageConnectionString } from './settings.js';

const HOSTS_CONTAINER = 'azure-webjobs-hosts';
/** Singleton listener lease: Azure's shortest lease, so a crashed holder is replaced quickly. */
const LOCK_LEASE_SECONDS = 15;
const LOCK_RENEW_MS = 5_000;
/** The host retries a held listener lock every minute (ListenerLockRecoveryPollingInterval). */
const DEFAULT_LOCK_POLL_MS = 60_000;
/** `default(DateTime)` as Newtonsoft writes it: the host's ScheduleStatus "never ran". */
const NEVER = '0001-01-01T00:00:00';

/** When a schedule fires next after a given instant. */
export interface TimerSchedule {
  next(after: Date): Date;
  /** TimerInfo.Schedule.AdjustForDST: true for cron schedules, false for constant intervals. */
  readonly adjustForDst: boolean;
  readonly description: string;
}

/**
 * Parses a timer trigger schedule as the host does: an NCRONTAB expression
 * (`{second} {minute} {hour} {day} {month} {day-of-week}`, 5 fields also accepted) evaluated in
 * UTC or in `timeZone` (WEBSITE_TIME_ZONE), or a constant `[d.]hh:mm:ss` interval.
 *
 * @throws Error for an expression croner rejects or an unknown time zone.
 */
export function parseSchedule(expression: string, timeZone?: string): TimerSchedule {
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(expression.trim());
  if (span !== null) {
    const [, d, h, m, s] = span;
    const ms = (((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(m)) * 60 + Number(s)) * 1000;
    if (ms <= 0) throw new Error(`Timer schedule "${expression}" is a zero interval.`);
    return { next: (after) => new Date(after.getTime() + ms), adjustForDst: false, description: `every ${expression}` };
  }
  const cron = new Cron(expression.trim(), { timezone: timeZone ?? 'UTC', mode: '5-or-6-parts' });
  // Evaluated once here so a bad zone fails at start, not at the first occurrence.
  if (cron.nextRun(new Date()) === null) throw new Error(`Timer schedule "${expression}" never fires.`);
  return {
    next(after) {
      const next = cron.nextRun(after);
      if (next === null) throw new Error(`Timer schedule "${expression}" has no occurrence after ${after.toISOString()}.`);
      return next;
    },
    adjustForDst: true,
    description: `${expression} (${timeZone ?? 'UTC'})`,
  };
}

/**
 * Runs the app's timer triggers as the host does: one listener per function across every
 * runtime instance sharing the storage account (a singleton lease on
 * `azure-webjobs-hosts/locks/{hostId}/Host.Functions.{name}.Listener`), schedule status in
 * `azure-webjobs-hosts/timers/{hostId}/Host.Functions.{name}/status` to detect missed occurrences
 * (IsPastDue), `runOnStartup`, and never two invocations of one function at once: the next
 * occurrence is computed only after an invocation ends, so overrun occurrences collapse into one.
 */
export async function startTimerTriggers(ctx: ListenerContext): Promise<TriggerListener> {
  const watchers: TimerWatcher[] = [];
  for (const registration of ctx.core.registrations.values()) {
    const [triggerName, binding] = triggerOf(registration);
    if (binding.type?.toLowerCase() !== 'timertrigger') continue;
    watchers.push(new TimerWatcher(ctx, registration, triggerName, binding));
  }
  if (watchers.length > 0) {
    const hosts = hostsContainer(ctx);
    await hosts.createIfNotExists();
  }
  for (const watcher of watchers) watcher.start();
  return {
    async close() {
      await Promise.all(watchers.map((w) => w.close()));
    },
  };
}

interface ScheduleStatus {
  Last: string;
  Next: string;
  LastUpdated: string;
}

function hostsContainer(ctx: ListenerContext): ContainerClient {
  return BlobServiceClient.fromConnectionString(storageConnectionString(ctx.settings, 'AzureWebJobsStorage')).getContainerClient(
    HOSTS_CONTAINER,
  );
}

class TimerWatcher {
  readonly #ctx: ListenerContext;
  readonly #registration: Registration;
  readonly #triggerName: string;
  readonly #name: string;
  readonly #schedule: TimerSchedule;
  readonly #runOnStartup: boolean;
  readonly #useMonitor: boolean;
  readonly #lockPollMs: number;
  readonly #lockBlob: BlockBlobClient;
  readonly #statusBlob: BlockBlobClient;
  readonly #instanceId = randomUUID();
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(ctx: ListenerContext, registration: Registration, triggerName: string, binding: RpcBindingInfo) {
    this.#ctx = ctx;
    this.#registration = registration;
    this.#triggerName = triggerName;
    this.#name = registration.metadata.name;
    const raw = typeof binding.schedule === 'string' ? binding.schedule : '';
    const expression = /^%[^%]+%$/.test(raw) ? ctx.settings[raw.slice(1, -1)] : raw;
    if (expression === undefined || expression === '') {
      throw new Error(`Timer function '${this.#name}': schedule "${raw}" is empty or names an unset app setting.`);
    }
    const timeZone = ctx.settings.WEBSITE_TIME_ZONE;
    this.#schedule = parseSchedule(expression, timeZone === undefined || timeZone === '' ? undefined : timeZone);
    this.#runOnStartup = binding.runOnStartup === true;
    this.#useMonitor = typeof binding.useMonitor === 'boolean' ? binding.useMonitor : intervalAtLeastAMinute(this.#schedule);
    const poll = Number(ctx.settings.CIPHERFLOW_TIMER_LOCK_POLL_MS);
    this.#lockPollMs = Number.isInteger(poll) && poll > 0 ? poll : DEFAULT_LOCK_POLL_MS;
    const hosts = hostsContainer(ctx);
    const functionId = `Host.Functions.${this.#name}`;
    this.#lockBlob = hosts.getBlockBlobClient(`locks/${ctx.hostId}/${functionId}.Listener`);
    this.#statusBlob = hosts.getBlockBlobClient(`timers/${ctx.hostId}/${functionId}/status`);
  }

  start(): void {
    this.#ctx.logger.write('information', 'system', `Timer '${this.#name}' schedule: ${this.#schedule.description}.`);
    this.#running = this.#lockLoop();
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #lockLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let leaseId: string | undefined;
      try {
        leaseId = await this.#acquire();
      } catch (err) {
        this.#ctx.logger.write('warning', 'system', `Timer '${this.#name}': singleton lock failed: ${messageOf(err)}`);
      }
      if (leaseId !== undefined) {
        await this.#holdAndRun(leaseId);
      }
      if (!signal.aborted) await pause(this.#lockPollMs, signal);
    }
  }

  async #acquire(): Promise<string | undefined> {
    try {
      await this.#lockBlob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const lease = this.#lockBlob.getBlobLeaseClient();
    try {
      await lease.acquireLease(LOCK_LEASE_SECONDS);
    } catch (err) {
      if (isAlreadyExists(err)) return undefined;
      throw err;
    }
    // As the host's BlobLeaseDistributedLockManager does, record who holds the lock.
    await this.#lockBlob
      .setMetadata({ FunctionInstance: this.#instanceId }, { conditions: { leaseId: lease.leaseId } })
      .catch(() => undefined);
    return lease.leaseId;
  }

  /** Runs the schedule while this instance holds the lock; returns when it stops or loses it. */
  async #holdAndRun(leaseId: string): Promise<void> {
    const lease = this.#lockBlob.getBlobLeaseClient(leaseId);
    const lost = new AbortController();
    const renew = setInterval(() => {
      lease.renewLease().catch((err: unknown) => {
        this.#ctx.logger.write('warning', 'system', `Timer '${this.#name}': lost the singleton lock: ${messageOf(err)}`);
        lost.abort();
      });
    }, LOCK_RENEW_MS);
    const signal = AbortSignal.any([this.#stop.signal, lost.signal]);
    this.#ctx.logger.write('information', 'system', `Timer '${this.#name}': singleton lock acquired; this instance runs the schedule.`);
    try {
      await this.#run(signal);
    } catch (err) {
      this.#ctx.logger.write('error', 'system', `Timer '${this.#name}' listener failed: ${messageOf(err)}`);
    } finally {
      clearInterval(renew);
      if (!lost.signal.aborted) await lease.releaseLease().catch(() => undefined);
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    const now = new Date();
    let status: ScheduleStatus = { Last: NEVER, Next: format(this.#schedule.next(now)), LastUpdated: NEVER };
    let pastDue = false;
    if (this.#useMonitor) {
      const stored = await this.#readStatus();
      if (stored === undefined) {
        status = { Last: NEVER, Next: format(this.#schedule.next(now)), LastUpdated: format(now) };
        await this.#writeStatus(status);
      } else {
        status = stored;
        const base = stored.Last.startsWith('0001-') ? stored.LastUpdated : stored.Last;
        const expected = base.startsWith('0001-') ? undefined : this.#schedule.next(new Date(base));
        if (expected === undefined || expected.getTime() !== Date.parse(stored.Next)) {
          // The schedule changed since the status was written: start from now, as the host does.
          status = { Last: stored.Last, Next: format(this.#schedule.next(now)), LastUpdated: format(now) };
          await this.#writeStatus(status);
        } else {
          pastDue = now.getTime() > Date.parse(stored.Next);
        }
      }
    }

    if (pastDue) {
      this.#ctx.logger.write('information', 'system', `Timer '${this.#name}' is past due (was due ${status.Next}).`);
      status = await this.#invoke(status, { isPastDue: true, unscheduled: true }, signal);
    } else if (this.#runOnStartup) {
      this.#ctx.logger.write('information', 'system', `Timer '${this.#name}' runs on startup.`);
      status = await this.#invoke(status, { isPastDue: false, unscheduled: true }, signal);
    }
    while (!signal.aborted) {
      for (let wait = Date.parse(status.Next) - Date.now(); wait > 0; wait = Date.parse(status.Next) - Date.now()) {
        if (!(await pause(wait, signal))) return;
      }
      status = await this.#invoke(status, { isPastDue: false, unscheduled: false }, signal);
    }
  }

  /** One invocation, awaited to the end; returns the status for the following occurrence. */
  async #invoke(status: ScheduleStatus, kind: { isPastDue: boolean; unscheduled: boolean }, signal: AbortSignal): Promise<ScheduleStatus> {
    if (signal.aborted) return status;
    const invocationTime = new Date();
    const timerInfo = {
      Schedule: { AdjustForDST: this.#schedule.adjustForDst },
      ScheduleStatus: this.#useMonitor ? status : null,
      IsPastDue: kind.isPastDue,
    };
    try {
      await invoke(
        this.#ctx.core,
        this.#registration,
        { inputData: [{ name: this.#triggerName, data: { json: JSON.stringify(timerInfo) } }], triggerMetadata: {} },
        this.#ctx.logger,
      );
    } catch {
      // invoke() logged it; a failed invocation never stops the schedule.
    }
    // Fired a little early (timer skew): count from the scheduled time so it does not fire twice.
    const scheduled = Date.parse(status.Next);
    const adjusted = !kind.unscheduled && scheduled > invocationTime.getTime() ? new Date(scheduled) : invocationTime;
    const next: ScheduleStatus = { Last: format(adjusted), Next: format(this.#schedule.next(adjusted)), LastUpdated: format(adjusted) };
    if (this.#useMonitor) await this.#writeStatus(next);
    return next;
  }

  async #readStatus(): Promise<ScheduleStatus | undefined> {
    try {
      const text = (await this.#statusBlob.downloadToBuffer()).toString('utf8');
      const parsed = JSON.parse(text) as Partial<Record<keyof ScheduleStatus, unknown>>;
      if (typeof parsed.Last !== 'string' || typeof parsed.Next !== 'string' || typeof parsed.LastUpdated !== 'string') return undefined;
      return { Last: parsed.Last, Next: parsed.Next, LastUpdated: parsed.LastUpdated };
    } catch (err) {
      if (isNotFound(err) || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  async #writeStatus(status: ScheduleStatus): Promise<void> {
    const body = JSON.stringify(status);
    try {
      await this.#statusBlob.upload(body, Buffer.byteLength(body));
    } catch (err) {
      // Best effort, as in the host's StorageScheduleMonitor.
      this.#ctx.logger.write('error', 'system', `Function '${this.#name}' failed to update the timer trigger status: ${messageOf(err)}`);
    }
  }
}

/** The host's default for useMonitor: on for schedules whose occurrences are a minute or more apart. */
function intervalAtLeastAMinute(schedule: TimerSchedule): boolean {
  const first = schedule.next(new Date());
  const second = schedule.next(first);
  return second.getTime() - first.getTime() >= 60_000;
}

/** Date as the host's ScheduleStatus carries it (ISO 8601 with an explicit offset). */
function format(date: Date): string {
  return date.toISOString().replace('Z', '+00:00');
}

/** Waits; false if the signal ended the wait early. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    // setTimeout caps at 2^31-1 ms; a longer wait just wakes up and waits again.
    await sleep(Math.min(ms, 2_147_483_647), undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
