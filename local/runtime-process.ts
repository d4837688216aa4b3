import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild } from './azurite.js';
import { findRepoRoot } from './dev-issuer.js';
import { logEntry } from './runtime/log-entry.js';

/** The repository root, from `local/` (tests) as from `dist/local/` (benchmarks). */
export const repoRoot = findRepoRoot();

/**
 * Process settings the function app runs with, in Azure (app settings, infra/resources.bicep) as
 * locally. glibc's malloc raises its mmap threshold each time a large block is freed, after which
 * the megabyte-sized buffers a streaming ingestion churns through land in heap arenas that are
 * never returned: a fixed 128 KiB threshold keeps them mmapped, so freed buffers leave the RSS.
 * The smaller ones (64 KiB socket reads) still come from arenas, and glibc gives every thread that
 * allocates (libuv's pool: zlib, crypto, file reads) an arena of its own, up to 8 per core, each
 * keeping what it freed: 2 arenas took a 1 GiB ingestion's peak from 207-220 MiB to 206-207 MiB
 * and its excess over a 64 MiB one from 10-14 % to 4-7 % (`npm run bench`, figure 2), at the
 * same throughput. (A 64 KiB mmap threshold flattened it too, but halved throughput.)
 */
export const APP_PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_ARENA_MAX: '2',
};

/** Peak resident set size of a process so far (Linux `VmHWM`), in bytes. */
export function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`VmHWM not found for process ${pid}`);
  return Number(kb) * 1024;
}

export { logEntry };

export interface RuntimeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every log line the runtime printed so far (JSON lines and anything else). */
  readonly lines: string[];
  /** Resolves with the first line (parsed) that satisfies the predicate. */
  waitForLine(predicate: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Runs the compiled local runtime (`dist/local/runtime/main.js`, built by `npm test`) as a child
 * process, the way `npm start` does, and resolves once it reports `host-started`.
 */
export async function startRuntime(env: Record<string, string>, appRoot = repoRoot): Promise<RuntimeProcess> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'local', 'runtime', 'main.js')], {
    env: { ...process.env, ...APP_PROCESS_ENV, PORT: '0', CIPHERFLOW_APP_ROOT: appRoot, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ predicate: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }>();
  const onLine = (line: string): void => {
    lines.push(line);
    const entry = logEntry(line);
    if (entry === undefined) return;
    for (const waiter of waiters) {
      if (waiter.predicate(entry)) {
        waiters.delete(waiter);
        waiter.resolve(entry);
      }
    }
  };
  if (child.stdout === null || child.stderr === null) throw new Error('runtime stdio is not piped');
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));

  const waitForLine = (predicate: (e: Record<string, unknown>) => boolean, timeoutMs = 30_000) => {
    for (const line of lines) {
      const entry = logEntry(line);
      if (entry !== undefined && predicate(entry)) return Promise.resolve(entry);
    }
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = { predicate, resolve };
      waiters.add(waiter);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`runtime: no matching log line within ${timeoutMs} ms. Output:\n${lines.slice(-40).join('\n')}`));
      }, timeoutMs);
      child.once('exit', (code) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`runtime exited (${code}) before a matching log line. Output:\n${lines.slice(-40).join('\n')}`));
      });
      const original = waiter.resolve;
      waiter.resolve = (entry) => {
        clearTimeout(timer);
        original(entry);
      };
    });
  };

  const started = await waitForLine((e) => e.event === 'host-started');
  return {
    url: typeof started.url === 'string' ? started.url : '',
    child,
    lines,
    waitForLine,
    stop: () => stopChild(child),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

