import type { KeyClient } from '@azure/keyvault-keys';
import type { BlobServiceClient } from '@azure/storage-blob';
import { statusCodeOf } from '../core/azure-errors.js';
import type { Logger } from '../logging/logger.js';

/** A dependency as `/health` shows it to anyone: up or down, with no reason, latency or address. */
export interface DependencyHealth {
  readonly status: 'up' | 'down';
}

/** What `/health` answers. Anonymous callers see it, so it holds nothing but the states. */
export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly dependencies: { readonly storage: DependencyHealth; readonly keyVault: DependencyHealth };
}

/** A health check; `log` is the logger of the request that runs it (it logs what it found). */
export type HealthCheck = (log: Logger) => Promise<HealthReport>;

/** What a probe found, for the logs only. */
type ProbeOutcome = { readonly status: 'up'; readonly latencyMs: number } | { readonly status: 'down'; readonly reason: string };

const PROBE_TIMEOUT_MS = 5_000;

/**
 * Asks storage and the system Key Vault whether they answer (an authenticated, read-only call
 * each), in parallel and with a timeout. Why a dependency is down (the SDK's code or a generic
 * reason, never a connection string, URL or token) and each latency go to the log, not into the
 * report. Never rejects.
 */
export async function checkHealth(deps: { blobs: BlobServiceClient; vault: KeyClient; log: Logger }): Promise<HealthReport> {
  const [storage, keyVault] = await Promise.all([
    probe((signal) => deps.blobs.getProperties({ abortSignal: signal })),
    probe((signal) => deps.vault.listPropertiesOfKeys({ abortSignal: signal }).byPage({ maxPageSize: 1 }).next()),
  ]);
  const status = storage.status === 'up' && keyVault.status === 'up' ? 'ok' : 'degraded';
  if (status === 'ok') deps.log.debug({ dependencies: { storage, keyVault } }, 'health probed');
  else deps.log.warn({ dependencies: { storage, keyVault } }, 'health probe found a dependency down');
  return { status, dependencies: { storage: { status: storage.status }, keyVault: { status: keyVault.status } } };
}

async function probe(call: (signal: AbortSignal) => Promise<unknown>): Promise<ProbeOutcome> {
  const started = performance.now();
  try {
    await call(AbortSignal.timeout(PROBE_TIMEOUT_MS));
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: 'down', reason: describe(err) };
  }
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { name?: unknown; code?: unknown };
    const status = statusCodeOf(err);
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'timeout';
    if (typeof e.code === 'string') return status === undefined ? e.code : `${e.code} (${status})`;
    if (status !== undefined) return `HTTP ${status}`;
  }
  return 'unreachable';
}
