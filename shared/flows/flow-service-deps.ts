import type { TableFactory } from '../storage/tenant-table.js';

/** What the flow service and batch stores need: tables whose table exists, and a clock. */
export interface FlowServiceDeps {
  readonly tables: TableFactory;
  readonly clock?: () => Date;
}

/** The deps' clock, or the system clock, in epoch milliseconds. */
export function nowMs(deps: FlowServiceDeps): number {
  return (deps.clock?.() ?? new Date()).getTime();
}
