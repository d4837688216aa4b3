import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { CreateByokConfigRequest, createByokConfig } from '../shared/cmk/byok-configs.js';
import { ownershipPolicy } from '../shared/cmk/key-ownership.js';
import { keyReader } from '../shared/cmk/validate-customer-key.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { systemClock } from '../shared/core/clock.js';

/** `POST /data/infrastructure/manager/customer/config` → 200 `{ id, config: {..., status: "NEW"}, status: "CREATED" }`. */
export async function createCmkConfig(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'cmk-configs-create', auth: 'required', orgWide: true, schema: CreateByokConfigRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => {
      const services = await appServices();
      const deps = {
        tables: services.tables,
        clock: systemClock,
        allowLoopback: services.config.environment === 'local',
        ownership: ownershipPolicy(services.cmk.settings, services.config.systemKeyVaultUrl),
        readKey: keyReader((vaultUrl) => services.clients.keys(vaultUrl)),
      };
      return { json: await createByokConfig(deps, tenant, body) };
    },
  );
}

app.http('cmk-configs-create', {
  methods: ['POST'],
  route: 'data/infrastructure/manager/customer/config',
  authLevel: 'anonymous',
  handler: createCmkConfig,
});
