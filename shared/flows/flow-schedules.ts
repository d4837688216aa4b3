import type { SandboxScope } from '../core/scope.js';
import { onePartition, tableRepository, tenantPartitionKey, where, type TableCodec, type TableFactory } from '../storage/tenant-table.js';

/**
 * When each scheduled dataflow (one reading a customer's storage) runs next: one row per flow in
 * one partition, so the scheduler finds every due flow with one query, whatever the org.
 * RowKey `{org}|{sandbox}|{flowId}`; `nextRunAt` ISO 8601, so string order is time order.
 */
export const FLOW_SCHEDULES_TABLE = 'flowschedules';
const PARTITION = 'due';

export type Frequency = 'once' | 'minute' | 'hour' | 'day' | 'week';

/** A flow's `scheduleParams`, read: when it starts and how often it repeats. */
export interface Schedule {
  /** Epoch ms of the first run. */
  readonly startAt: number;
  readonly frequency: Frequency;
  readonly interval: number;
}

const PERIOD_MS: Readonly<Record<Exclude<Frequency, 'once'>, number>> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
};

/**
 * The schedule of Adobe's `scheduleParams`: `startTime` in epoch seconds (a 13-digit value is
 * read as milliseconds), default now; `frequency` default `once`; `interval` default 1.
 */
export function scheduleOf(
  params: { readonly startTime?: number | string | undefined; readonly frequency?: Frequency | undefined; readonly interval?: number | undefined } | undefined,
  now: number,
): Schedule {
  const raw = params?.startTime === undefined ? undefined : Number(params.startTime);
  const startAt = raw === undefined ? now : raw >= 1e12 ? raw : raw * 1000;
  return { startAt, frequency: params?.frequency ?? 'once', interval: params?.interval ?? 1 };
}

/**
 * The first run time after `after` (epoch ms), or `undefined` when a `once` schedule has run.
 * Runs missed while nothing ran (an outage) are not made up one by one: the next is the first
 * slot after `after`, and one run then takes every file that arrived meanwhile. Pure.
 */
export function nextRunAfter(schedule: Schedule, after: number): number | undefined {
  if (schedule.frequency === 'once') return after < schedule.startAt ? schedule.startAt : undefined;
  if (after < schedule.startAt) return schedule.startAt;
  const period = PERIOD_MS[schedule.frequency] * schedule.interval;
  return schedule.startAt + (Math.floor((after - schedule.startAt) / period) + 1) * period;
}

/** A scheduled flow's row. */
export interface ScheduledFlow extends SandboxScope {
  readonly flowId: string;
  readonly schedule: Schedule;
  /** Epoch ms of the run that is due next. */
  readonly nextRunAt: number;
  /** The row's ETag: the scheduler advances a row only over the version it read. */
  readonly etag: string;
}

interface ScheduleEntity {
  rowKey: string;
  orgId: string;
  sandbox: string;
  flowId: string;
  startAt: number;
  frequency: Frequency;
  interval: number;
  nextRunAt: string;
}

/** A flow's row: `{org}|{sandbox}|{flowId}`. */
const scheduleKey = (scope: SandboxScope, flowId: string) => `${tenantPartitionKey(scope)}|${flowId}`;

const codec: TableCodec<ScheduledFlow, void, ScheduleEntity, Omit<ScheduledFlow, 'etag'>> = {
  toEntity: (s) => ({
    rowKey: scheduleKey(s, s.flowId),
    orgId: s.orgId,
    sandbox: s.sandbox,
    flowId: s.flowId,
    startAt: s.schedule.startAt,
    frequency: s.schedule.frequency,
    interval: s.schedule.interval,
    nextRunAt: new Date(s.nextRunAt).toISOString(),
  }),
  fromEntity: (e) => ({
    orgId: e.orgId,
    sandbox: e.sandbox,
    flowId: e.flowId,
    schedule: { startAt: e.startAt, frequency: e.frequency, interval: e.interval },
    nextRunAt: Date.parse(e.nextRunAt),
    etag: e.etag,
  }),
};

const schedules = (tables: TableFactory) => tableRepository(() => tables(FLOW_SCHEDULES_TABLE), onePartition(PARTITION), codec).in();

/** Puts a flow on its schedule (first run at its start time). Idempotent. */
export async function scheduleFlow(tables: TableFactory, scope: SandboxScope, flowId: string, schedule: Schedule): Promise<void> {
  await schedules(tables).upsert({ orgId: scope.orgId, sandbox: scope.sandbox, flowId, schedule, nextRunAt: schedule.startAt });
}

/** Takes a flow off the schedule (deleted). Idempotent. */
export async function unscheduleFlow(tables: TableFactory, scope: SandboxScope, flowId: string): Promise<void> {
  await schedules(tables).delete(scheduleKey(scope, flowId));
}

/** Every flow whose next run is due at `now`, in no particular order. */
export async function* dueFlows(tables: TableFactory, now: number): AsyncGenerator<ScheduledFlow> {
  yield* schedules(tables).list(where`nextRunAt le ${new Date(now).toISOString()}`);
}

/**
 * Moves a flow past the run that was due (to its next slot after `now`, or off the schedule
 * after a `once` run), only over the version read: `false` when another instance did it first.
 */
export async function advanceSchedule(tables: TableFactory, due: ScheduledFlow, now: number): Promise<boolean> {
  const next = nextRunAfter(due.schedule, Math.max(now, due.nextRunAt));
  const rowKey = scheduleKey(due, due.flowId);
  if (next === undefined) return schedules(tables).delete(rowKey, due.etag);
  return schedules(tables).merge(rowKey, { nextRunAt: new Date(next).toISOString() }, due.etag);
}

/** A flow's next run, or `undefined` when it is not scheduled (a landing-zone flow, a `once` flow that has run). */
export async function nextRunOf(tables: TableFactory, scope: SandboxScope, flowId: string): Promise<number | undefined> {
  return (await schedules(tables).find(scheduleKey(scope, flowId)))?.nextRunAt;
}
