import { AsyncLocalStorage } from 'node:async_hooks';

/** The host's log of one function invocation (`InvocationContext` fits): what Azure correlates with it. */
export interface InvocationLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

interface Sink {
  readonly log: InvocationLog;
  /** Set once the invocation has answered: work it started that outlives it logs to stdout. */
  ended: boolean;
}

const current = new AsyncLocalStorage<Sink>();

/**
 * Runs `fn` so that every line the app's logger writes until `fn` settles goes to `log`. Work it
 * started that goes on afterwards (a cache refresh, a probe others wait for) logs to stdout, not
 * to an invocation that has ended.
 */
export function withInvocationLog<T>(log: InvocationLog, fn: () => Promise<T>): Promise<T> {
  const sink: Sink = { log, ended: false };
  return current.run(sink, fn).finally(() => {
    sink.ended = true;
  });
}

/**
 * The app logger's destination: each JSON line goes to the log of the invocation that wrote it
 * (the host's `context.log`, `warn` or `error` by the line's level, which Application Insights
 * correlates with the invocation), and to stdout outside any invocation (start-up).
 */
export const invocationDestination = {
  write(line: string): void {
    const sink = current.getStore();
    if (sink === undefined || sink.ended) {
      process.stdout.write(line);
      return;
    }
    const log = sink.log;
    const text = line.endsWith('\n') ? line.slice(0, -1) : line;
    if (text.startsWith('{"level":"error"') || text.startsWith('{"level":"fatal"')) log.error(text);
    else if (text.startsWith('{"level":"warn"')) log.warn(text);
    else log.log(text);
  },
};
