import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { BYOK_CONFIG_TYPE, ByokConfigQuery, deleteByokConfig } from '../shared/cmk/byok-configs.js';
import { ownershipPolicy } from '../shared/cmk/key-ownership.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { parseQuery } from '../shared/http/query.js';
import { systemClock } from '../shared/core/clock.js';

/**
 * `DELETE /data/infrastructure/manager/customer/config/{name}?configType=BYOK_CONFIG` → 204 for a
 * config that never took effect (NEW, RUNNING, FAILED); 409 CMK_IRREVERSIBLE once the org's key
 * state names its key (no way back to system keys).
 */
export async function deleteCmkConfig(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'cmk-configs-delete', auth: 'required', orgWide: true, invocationId: ctx.invocationId }, async ({ tenant }) => {
    parseQuery(ByokConfigQuery, req.query, `The configType query parameter must be ${BYOK_CONFIG_TYPE}`);
    const services = await appServices();
    const deps = {
      tables: services.tables,
      clock: systemClock,
      allowLoopback: services.config.environment === 'local',
      ownership: ownershipPolicy(services.cmk.settings, services.config.systemKeyVaultUrl),
    };
    await deleteByokConfig(deps, tenant, req.params.name ?? '');
    return { status: 204 };
  });
}

app.http('cmk-configs-delete', {
  methods: ['DELETE'],
  route: 'data/infrastructure/manager/customer/config/{name}',
  authLevel: 'anonymous',
  handler: deleteCmkConfig,
});
