import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The niceness worker threads run at: below the thread that serves HTTP (0), never starved. */
export const WORKER_NICENESS = 10;

/**
 * Lowers the calling thread's scheduling priority, so CPU-heavy worker threads (private-key
 * operations, bzip2 blocks) leave the cores to the thread that serves HTTP when both want them.
 * Linux schedules threads on their own: `/proc/thread-self` names this thread's id, and
 * setpriority on that id changes this thread only. Best effort: on another OS, or without /proc,
 * nothing changes and it returns false.
 */
export function lowerThreadPriority(niceness = WORKER_NICENESS): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, niceness);
    return true;
  } catch {
    return false;
  }
}
