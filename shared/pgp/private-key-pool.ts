import type { PrivateKeyPoolSettings } from '../config/app-config.js';
import { DEFAULT_PRIVATE_KEY_WAITING, defaultPrivateKeyWorkers } from '../config/defaults.js';
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

/** Seconds a refused caller is told to wait (`Retry-After`): about one RSA-4096 key generation. */
export const SERVER_BUSY_RETRY_AFTER_SECONDS = 5;
/** Heap of each worker: the work holds keys and session key packets, never file data. */
const WORKER_HEAP_MB = 64;

/** Starts a pool (workers start on first use and stop when idle), sized by `PRIVATE_KEY_WORKERS` / `PRIVATE_KEY_WAITING`. */
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

/**
 * A pool with the settings' defaults, for callers handed none (tests, tools). The app passes the
 * pool its services build from the configuration (`AppServices.privateKeys`) instead.
 */
export function privateKeyPool(): PrivateKeyPool {
  shared ??= createPrivateKeyPool({ workers: defaultPrivateKeyWorkers(), maxWaiting: DEFAULT_PRIVATE_KEY_WAITING });
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
