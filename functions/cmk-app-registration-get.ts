import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appRegistration } from '../shared/cmk/app-registration.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** `GET /data/infrastructure/manager/byok/app-registration` → our multi-tenant app and its consent URL. */
export async function getCmkAppRegistration(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'cmk-app-registration-get', auth: 'required', invocationId: ctx.invocationId }, async () => {
    const { cmk } = await appServices();
    return { json: appRegistration(cmk.settings) };
  });
}

app.http('cmk-app-registration-get', {
  methods: ['GET'],
  route: 'data/infrastructure/manager/byok/app-registration',
  authLevel: 'anonymous',
  handler: getCmkAppRegistration,
});
