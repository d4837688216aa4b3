import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { cacheHealthCheck } from '../shared/health/cached-health-check.js';
import { checkHealth, type HealthCheck } from '../shared/health/check-health.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/**
 * Reports whether storage and the system Key Vault answer: 200 when both do, 503 otherwise. The
 * answer comes from this instance's last probe, at most `HEALTH_PROBE_SECONDS` old.
 */
export async function health(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'health', auth: 'none', invocationId: ctx.invocationId }, async ({ log }) => {
    const report = await (await healthCheck())(log);
    return { status: report.status === 'ok' ? 200 : 503, json: report };
  });
}

let cached: HealthCheck | undefined;

async function healthCheck(): Promise<HealthCheck> {
  if (cached !== undefined) return cached;
  const { config, clients } = await appServices();
  const vault = clients.keys(config.systemKeyVaultUrl);
  // Two first requests may both get here; the first to resume builds the one cache.
  cached ??= cacheHealthCheck((log) => checkHealth({ blobs: clients.blobs, vault, log }), { intervalMs: config.healthProbeSeconds * 1000 });
  return cached;
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health });
