import type { HealthCheck, HealthReport } from './check-health.js';

export interface HealthCacheOptions {
  /** How long a probe's report is answered before the next request probes again (`HEALTH_PROBE_SECONDS`). */
  readonly intervalMs: number;
  /** Monotonic milliseconds; default `performance.now`. */
  readonly now?: () => number;
}

/**
 * Wraps a health check so that one instance probes its dependencies at most once per interval,
 * however many requests arrive: `/health` is anonymous, and a probe per request let anyone drive
 * calls to the system Key Vault. Requests that arrive while a probe runs
 * share it (single flight), and a probe never starts while another is still running, even past
 * the interval. The interval counts from a probe's start, so probes start at most once per
 * interval. A report that found a dependency down is kept just as long as one that found both up.
 */
export function cacheHealthCheck(check: HealthCheck, options: HealthCacheOptions): HealthCheck {
  const now = options.now ?? (() => performance.now());
  let last: { readonly startedAt: number; readonly report: Promise<HealthReport>; settled: boolean } | undefined;
  return (log) => {
    const at = now();
    if (last === undefined || (last.settled && at - last.startedAt >= options.intervalMs)) {
      const current = { startedAt: at, report: check(log), settled: false };
      const settle = () => {
        current.settled = true;
      };
      current.report.then(settle, settle);
      last = current;
    }
    return last.report;
  };
}
