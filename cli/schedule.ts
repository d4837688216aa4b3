import type { Frequency } from '../shared/flows/flow-schedules.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

const FREQUENCIES = ['once', 'minute', 'hour', 'day', 'week'] as const satisfies readonly Frequency[];

/** `--schedule FREQUENCY[:N]`, read. */
export interface ScheduleOption {
  readonly frequency: Frequency;
  readonly interval?: number;
}

/** Adobe's `scheduleParams` as `flows create --connection` sends them. */
export interface ScheduleParams {
  readonly frequency: Frequency;
  readonly interval?: number;
  readonly startTime?: number;
}

/**
 * Parses `--schedule`: `once`, or `minute|hour|day|week` optionally followed by `:N` (every N of
 * them, default 1).
 * @throws CliError exit 2 otherwise.
 */
export function parseSchedule(value: string): ScheduleOption {
  const match = /^([a-z]+)(?::([0-9]+))?$/.exec(value.trim());
  const frequency = FREQUENCIES.find((f) => f === match?.[1]);
  if (match === null || frequency === undefined)
    throw new CliError(`--schedule: not ${FREQUENCIES.join('|')}[:N]: ${value}`, EXIT.USAGE);
  const n = match[2];
  if (n === undefined) return { frequency };
  if (frequency === 'once') throw new CliError('--schedule: once takes no interval', EXIT.USAGE);
  const interval = Number(n);
  if (!Number.isSafeInteger(interval) || interval < 1)
    throw new CliError(`--schedule: the interval must be a whole number from 1: ${value}`, EXIT.USAGE);
  return { frequency, interval };
}

/**
 * Parses `--start EPOCH_SECONDS`.
 * @throws CliError exit 2 for anything but whole seconds.
 */
export function parseStartTime(value: string): number {
  if (!/^[0-9]{1,11}$/.test(value.trim()))
    throw new CliError(`--start: not a time in epoch seconds (e.g. $(date +%s)): ${value}`, EXIT.USAGE);
  return Number(value.trim());
}

/**
 * The `scheduleParams` of `flows create`: only a flow reading a base connection (`--connection`)
 * runs on a schedule, and it needs one.
 * @throws CliError exit 2 for `--schedule`, `--start` or `--recursive` without `--connection`, or
 *   `--connection` without `--schedule`.
 */
export function flowSchedule(opts: {
  readonly connection?: string;
  readonly schedule?: ScheduleOption;
  readonly start?: number;
  readonly recursive?: boolean;
}): ScheduleParams | undefined {
  if (opts.connection === undefined) {
    const stray = [
      opts.schedule === undefined ? undefined : '--schedule',
      opts.start === undefined ? undefined : '--start',
      opts.recursive === true ? '--recursive' : undefined,
    ].filter((f) => f !== undefined);
    if (stray.length > 0)
      throw new CliError(
        `${stray.join(', ')} ${stray.length === 1 ? 'goes' : 'go'} with --connection (landing-zone flows ingest each file as it lands)`,
        EXIT.USAGE,
      );
    return undefined;
  }
  if (opts.schedule === undefined)
    throw new CliError('--connection needs --schedule once|minute|hour|day|week[:N]', EXIT.USAGE);
  return {
    frequency: opts.schedule.frequency,
    ...(opts.schedule.interval === undefined ? {} : { interval: opts.schedule.interval }),
    ...(opts.start === undefined ? {} : { startTime: opts.start }),
  };
}

/** `every minute`, `every 2 hours`, `once`, with the first run: `from 2026-12-01T09:00:00.000Z` or `from now`. */
export function describeSchedule(params: ScheduleParams): string {
  const from = params.startTime === undefined ? 'now' : new Date(params.startTime * 1000).toISOString();
  if (params.frequency === 'once') return `once, ${params.startTime === undefined ? 'now' : `at ${from}`}`;
  const n = params.interval ?? 1;
  return `every ${n === 1 ? params.frequency : `${n} ${params.frequency}s`}, from ${from}`;
}
