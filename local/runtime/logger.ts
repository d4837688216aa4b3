import type { RpcLogCategory, RpcLogLevel } from './core-types.js';

const LEVELS: Record<RpcLogLevel, number> = {
  trace: 0, debug: 1, information: 2, warning: 3, error: 4, critical: 5, none: 6,
};

export interface RuntimeLogger {
  write(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
  /** A structured lifecycle event (`host-started`, `blob-poisoned`, ...): one JSON line. */
  event(name: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, string>): RuntimeLogger;
}

/**
 * The host's log stream: one JSON line per entry on stdout, with the function name and
 * invocation id of the invocation that wrote it. Messages are the app's own text: the app is
 * responsible for never logging secrets.
 */
export function createRuntimeLogger(
  minimum: RpcLogLevel = 'information',
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  fields: Record<string, string> = {},
): RuntimeLogger {
  return {
    write(level, category, message) {
      if (LEVELS[level] < LEVELS[minimum]) return;
      out(JSON.stringify({ time: new Date().toISOString(), level, category, ...fields, message }));
    },
    event(name, extra = {}) {
      out(JSON.stringify({ time: new Date().toISOString(), level: 'information', category: 'system', ...fields, event: name, ...extra }));
    },
    child(extra) {
      return createRuntimeLogger(minimum, out, { ...fields, ...extra });
    },
  };
}
