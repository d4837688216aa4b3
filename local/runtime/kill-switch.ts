import { logEntry } from './log-entry.js';

/**
 * Fault injection for crash tests, in the local runtime only (never in the app): with
 * `CIPHERFLOW_KILL_AT=<event>:<n>` the runtime process SIGKILLs itself, like an instance that
 * dies, while the app logs its n-th `<event>` line (`ctx.log(JSON.stringify({ event, ... }))`):
 * synchronously inside the app's log call, so nothing the app does after that line happens.
 */
export interface KillAt {
  readonly event: string;
  readonly count: number;
}

/** Reads `CIPHERFLOW_KILL_AT`; undefined when absent. @throws Error when malformed. */
export function parseKillAt(value: string | undefined): KillAt | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const match = /^([a-z0-9-]{1,64}):([1-9][0-9]{0,5})$/.exec(value.trim());
  if (match === null) throw new Error(`CIPHERFLOW_KILL_AT must be <event>:<count>, e.g. cmk-sandbox-rewrapped:2 (got ${JSON.stringify(value)})`);
  return { event: match[1] ?? '', count: Number(match[2]) };
}

/** A watcher of the runtime's log lines that kills this process at the configured app line. */
export function killSwitch(at: KillAt, kill: () => void = () => process.kill(process.pid, 'SIGKILL')): (line: string) => void {
  let seen = 0;
  return (line) => {
    if (appEvent(line) === at.event && ++seen >= at.count) kill();
  };
}

/** The `event` of the app's own JSON in a runtime line (never the runtime's own events). */
function appEvent(line: string): unknown {
  const entry = logEntry(line);
  return entry !== undefined && typeof entry.message === 'string' ? entry.event : undefined;
}
