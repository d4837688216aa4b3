import type { TableFactory } from '../storage/tenant-table.js';
import { systemClock, type Clock } from '../core/clock.js';

/** What the flow service and batch stores need: tables whose table exists, and a clock. */
export interface FlowServiceDeps {
  readonly tables: TableFactory;
  readonly clock?: Clock;
}

/** The deps' clock, or the system clock, in epoch milliseconds. */
export function nowMs(deps: FlowServiceDeps): number {
  return (deps.clock ?? systemClock).now();
}
