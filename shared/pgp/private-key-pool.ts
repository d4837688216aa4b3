import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { createWorkerPool, WorkerJobError, WorkerPoolBusyError, type WhenBusy, type WorkerPool, type WorkerPoolStats } from '../core/worker-pool.js';
import { workerModuleUrl } from '../core/worker-module.js';
import { ServerBusyError } from '../errors.js';
import { PgpError, type PgpErrorCode } from './errors.js';
import type { GeneratedKeyPair, GenerateKeyPairOptions } from './generate-key-pair.js';
import type { RecoveredSessionKey, SessionKeyRequest } from './session-keys.js';

/** What the private-key worker runs (`private-key-worker.ts`). */
export interface PrivateKeyOperations {
  generateKeyPair(options: GenerateKeyPairOptions): Promise<GeneratedKeyPair>;
  recoverSessionKeys(request: SessionKeyRequest): Promise<RecoveredSessionKey[]>;
}

/**
 * Private-key work, run off the thread that serves HTTP by a bounded pool of worker threads.
 * `whenBusy`: `refuse` for an HTTP request (503 SERVER_BUSY once the line is full), `wait` for
 * an ingestion, which has no one waiting on a socket.
 */
export interface PrivateKeyPool {
  /** @throws SERVER_BUSY ({@link ServerBusyError}) for a refusing caller when the line is full; RangeError for bad options. */
  generateKeyPair(options: GenerateKeyPairOptions, whenBusy: WhenBusy): Promise<GeneratedKeyPair>;
  /** @throws PgpError `INVALID_PRIVATE_KEY`, `INTEGRITY_CHECK_FAILED`; SERVER_BUSY as above. */
  recoverSessionKeys(request: SessionKeyRequest, whenBusy: WhenBusy): Promise<RecoveredSessionKey[]>;
  stats(): WorkerPoolStats;
  close(): Promise<void>;
}

/** `PRIVATE_KEY_WORKERS` and `PRIVATE_KEY_WAITING`. */
export interface PrivateKeyPoolSettings {
  /** Worker threads at most (default: the cores less one for HTTP, at least 1, at most 4). */
  readonly workers: number;
  /** HTTP requests that may wait for a worker before the next is answered 503 SERVER_BUSY (default 8). */
  readonly maxWaiting: number;
}

/** Seconds a refused caller is told to wait (`Retry-After`): about one RSA-4096 key generation. */
export const SERVER_BUSY_RETRY_AFTER_SECONDS = 5;
/** Heap of each worker: the work holds keys and session key packets, never file data. */
const WORKER_HEAP_MB = 64;

const count = (max: number) => z.string().trim().regex(/^[0-9]{1,4}$/, 'must be a whole number').transform(Number).refine((n) => n <= max, `must be at most ${max}`);
const Env = z.object({
  PRIVATE_KEY_WORKERS: count(64).refine((n) => n >= 1, 'must be at least 1').optional(),
  PRIVATE_KEY_WAITING: count(10_000).optional(),
});

/** @throws Error naming a malformed setting. */
export function parsePrivateKeyPoolSettings(env: Readonly<Record<string, string | undefined>>): PrivateKeyPoolSettings {
  const result = Env.safeParse(env);
  if (!result.success) {
    throw new Error(`Invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return {
    workers: result.data.PRIVATE_KEY_WORKERS ?? Math.min(4, Math.max(1, availableParallelism() - 1)),
    maxWaiting: result.data.PRIVATE_KEY_WAITING ?? 8,
  };
}

/** Starts a pool (workers start on first use and stop when idle). */
export function createPrivateKeyPool(settings: PrivateKeyPoolSettings): PrivateKeyPool {
  const pool = createWorkerPool({
    script: workerModuleUrl(import.meta.url, './private-key-worker.js', 2),
    size: settings.workers,
    maxWaiting: settings.maxWaiting,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
  });
  return {
    generateKeyPair: (options, whenBusy) => run(pool, 'generateKeyPair', options, whenBusy),
    recoverSessionKeys: (request, whenBusy) => run(pool, 'recoverSessionKeys', request, whenBusy),
    stats: () => pool.stats(),
    close: () => pool.close(),
  };
}

let shared: PrivateKeyPool | undefined;

/** The process's pool, from `PRIVATE_KEY_WORKERS` / `PRIVATE_KEY_WAITING`. */
export function privateKeyPool(): PrivateKeyPool {
  shared ??= createPrivateKeyPool(parsePrivateKeyPoolSettings(process.env));
  return shared;
}

async function run<K extends keyof PrivateKeyOperations>(
  pool: WorkerPool,
  operation: K,
  input: Parameters<PrivateKeyOperations[K]>[0],
  whenBusy: WhenBusy,
): Promise<Awaited<ReturnType<PrivateKeyOperations[K]>>> {
  try {
    return await pool.run<Awaited<ReturnType<PrivateKeyOperations[K]>>>(operation, input, whenBusy);
  } catch (err) {
    if (err instanceof WorkerPoolBusyError) throw new ServerBusyError(SERVER_BUSY_RETRY_AFTER_SECONDS, { cause: err });
    if (err instanceof WorkerJobError) {
      const pgpCode = pgpCodeOf(err.data);
      if (pgpCode !== undefined) throw new PgpError(pgpCode, {}, { cause: err });
      if (err.remoteName === 'RangeError') throw new RangeError(err.message, { cause: err });
    }
    throw err;
  }
}

function pgpCodeOf(data: unknown): PgpErrorCode | undefined {
  if (typeof data !== 'object' || data === null || !('pgpCode' in data) || typeof data.pgpCode !== 'string') return undefined;
  // The worker sends only codes of PgpError it constructed; constructing one validates the name.
  return data.pgpCode as PgpErrorCode;
}
