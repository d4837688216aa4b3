import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const MIB = 1024 * 1024;
/** Throughput figures are in MB/s (10^6 bytes), as the issue states them. */
export const MB = 1_000_000;

let clockTicks: number | undefined;

/**
 * CPU seconds used so far by process `pid` (default: this one) and by its waited-for children
 * (Linux `/proc/<pid>/stat`).
 */
export function cpuSeconds(pid: number | 'self' = 'self'): { self: number; children: number } {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // utime, stime, cutime, cstime are fields 14-17 of the full line, 12-15 after "pid (comm)".
  const [utime = 0, stime = 0, cutime = 0, cstime = 0] = fields.slice(11, 15);
  return { self: (utime + stime) / clockTicks, children: (cutime + cstime) / clockTicks };
}

export interface Timing {
  readonly wallSeconds: number;
  /** CPU seconds of this process during the run. */
  readonly cpuSeconds: number;
  /** CPU seconds of child processes that exited during the run (gpg). */
  readonly childCpuSeconds: number;
}

/** Times `work`: wall clock and CPU, of this process and of children it waited for. */
export async function timed(work: () => Promise<void>): Promise<Timing> {
  const cpu0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  await work();
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = cpuSeconds();
  return { wallSeconds, cpuSeconds: cpu1.self - cpu0.self, childCpuSeconds: cpu1.children - cpu0.children };
}

/** The repetition with the shortest wall time: the least disturbed by other work on the machine. */
export function best(timings: readonly Timing[]): Timing {
  const [first, ...rest] = timings;
  if (first === undefined) throw new Error('no timings');
  return rest.reduce((a, b) => (b.wallSeconds < a.wallSeconds ? b : a), first);
}

/** Rounds the numbers of a details object for results.json. */
export function rounded<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v,
    ),
  ) as T;
}

/** The item whose `key` is the median (the upper of the two middle ones for an even count). */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const middle = [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)];
  if (middle === undefined) throw new Error('no items');
  return middle;
}
