import type { KeyClient } from '@azure/keyvault-keys';
import type { BlobServiceClient } from '@azure/storage-blob';

export type DependencyStatus = { readonly status: 'up'; readonly latencyMs: number } | { readonly status: 'down'; readonly error: string };

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  readonly dependencies: { readonly storage: DependencyStatus; readonly keyVault: DependencyStatus };
}

const PROBE_TIMEOUT_MS = 5_000;

/**
 * Asks storage and the system Key Vault whether they answer (an authenticated, read-only call
 * each), in parallel and with a timeout. The error text is the SDK's code or a generic reason:
 * no connection strings, URLs with secrets or tokens.
 */
export async function checkHealth(deps: { blobs: BlobServiceClient; vault: KeyClient }): Promise<HealthReport> {
  const [storage, keyVault] = await Promise.all([
    probe((signal) => deps.blobs.getProperties({ abortSignal: signal })),
    probe((signal) => deps.vault.listPropertiesOfKeys({ abortSignal: signal }).byPage({ maxPageSize: 1 }).next()),
  ]);
  return {
    status: storage.status === 'up' && keyVault.status === 'up' ? 'ok' : 'degraded',
    dependencies: { storage, keyVault },
  };
}

async function probe(call: (signal: AbortSignal) => Promise<unknown>): Promise<DependencyStatus> {
  const started = performance.now();
  try {
    await call(AbortSignal.timeout(PROBE_TIMEOUT_MS));
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: 'down', error: describe(err) };
  }
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { name?: unknown; code?: unknown; statusCode?: unknown };
    if (e.name === 'AbortError') return 'timeout';
    if (typeof e.code === 'string') return typeof e.statusCode === 'number' ? `${e.code} (${e.statusCode})` : e.code;
    if (typeof e.statusCode === 'number') return `HTTP ${e.statusCode}`;
  }
  return 'unreachable';
}
