import { AsyncLocalStorage } from 'node:async_hooks';

/** The host's log of one function invocation (`InvocationContext` fits): what Azure correlates with it. */
export interface InvocationLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const current = new AsyncLocalStorage<InvocationLog>();

/** Runs `fn` so that every line the app's logger writes meanwhile goes to `log`. */
export function withInvocationLog<T>(log: InvocationLog, fn: () => T): T {
  return current.run(log, fn);
}

/**
 * The app logger's destination: each JSON line goes to the log of the invocation that wrote it
 * (the host's `context.log`, `warn` or `error` by the line's level, which Application Insights
 * correlates with the invocation), and to stdout outside any invocation (start-up).
 */
export const invocationDestination = {
  write(line: string): void {
    const log = current.getStore();
    if (log === undefined) {
      process.stdout.write(line);
      return;
    }
    const text = line.endsWith('\n') ? line.slice(0, -1) : line;
    if (text.startsWith('{"level":"error"') || text.startsWith('{"level":"fatal"')) log.error(text);
    else if (text.startsWith('{"level":"warn"')) log.warn(text);
    else log.log(text);
  },
};
