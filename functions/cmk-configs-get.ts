import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { BYOK_CONFIG_TYPE, ByokConfigQuery, getByokConfig } from '../shared/cmk/byok-configs.js';
import { ownershipPolicy } from '../shared/cmk/key-ownership.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { parseQuery } from '../shared/http/query.js';
import { systemClock } from '../shared/core/clock.js';

/** `GET /data/infrastructure/manager/customer/config/{name}?configType=BYOK_CONFIG` → status, reason, history. */
export async function getCmkConfig(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'cmk-configs-get', auth: 'required', orgWide: true, invocationId: ctx.invocationId }, async ({ tenant }) => {
    parseQuery(ByokConfigQuery, req.query, `The configType query parameter must be ${BYOK_CONFIG_TYPE}`);
    const services = await appServices();
    const deps = {
      tables: services.tables,
      clock: systemClock,
      allowLoopback: services.config.environment === 'local',
      ownership: ownershipPolicy(services.cmk.settings, services.config.systemKeyVaultUrl),
    };
    return { json: await getByokConfig(deps, tenant, req.params.name ?? '') };
  });
}

app.http('cmk-configs-get', {
  methods: ['GET'],
  route: 'data/infrastructure/manager/customer/config/{name}',
  authLevel: 'anonymous',
  handler: getCmkConfig,
});
