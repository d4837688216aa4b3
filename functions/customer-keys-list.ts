import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { listCustomerKeys } from '../shared/pgp-keys/customer-keys.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/** `GET .../encryption/customer-keys` → the sandbox's registered signature-verification keys. */
export async function listCustomerKeysFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'customer-keys-list', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => ({
    json: await listCustomerKeys(pgpKeyDeps(await appServices()), tenant),
  }));
}

app.http('customer-keys-list', {
  methods: ['GET'],
  route: 'data/foundation/connectors/encryption/customer-keys',
  authLevel: 'anonymous',
  handler: listCustomerKeysFunction,
});
