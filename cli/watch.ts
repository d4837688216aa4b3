import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/**
 * Calls `check` every `intervalMs` until it returns a value, and returns that value.
 * @throws CliError exit 6 after `timeoutMs`.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  options: { readonly intervalMs: number; readonly timeoutMs: number; readonly what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() + options.intervalMs > deadline)
      throw new CliError(
        `gave up waiting for ${options.what} after ${Math.round(options.timeoutMs / 1000)}s`,
        EXIT.TIMEOUT,
      );
    await sleep(options.intervalMs);
  }
}

/** Parses a `--timeout SECONDS` / `--interval SECONDS` value. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`not a number of seconds: ${value}`, EXIT.USAGE);
  return n;
}
