import type { Clock } from '../core/clock.js';
import { advanceSchedule, dueFlows } from '../flows/flow-schedules.js';
import type { TableFactory } from '../storage/tenant-table.js';
import { SCAN_JOB, type EnqueueJob } from './source-jobs.js';

export interface DueRunDeps {
  readonly tables: TableFactory;
  readonly enqueue: EnqueueJob;
  readonly clock: Clock;
  readonly log: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * Starts every scheduled run that is due: enqueues one scan per due flow (the queue spreads the
 * listings and transfers over every instance, so one slow source holds no other org up) and moves
 * the flow to its next slot. The scan is enqueued before the schedule moves, so a crash between
 * can only enqueue a run twice, which its scan finds already listed and skips; of two instances
 * running this at once, each moves a flow only over the row version it read.
 *
 * @returns how many runs were started.
 */
export async function startDueRuns(deps: DueRunDeps): Promise<number> {
  const now = deps.clock.now();
  let started = 0;
  for await (const due of dueFlows(deps.tables, now)) {
    await deps.enqueue({ kind: SCAN_JOB, orgId: due.orgId, sandbox: due.sandbox, flowId: due.flowId, tick: due.nextRunAt });
    if (await advanceSchedule(deps.tables, due, now)) started++;
    deps.log('scheduled-run-started', { flowId: due.flowId, tick: due.nextRunAt });
  }
  return started;
}
