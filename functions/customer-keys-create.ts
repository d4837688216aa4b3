import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { RegisterCustomerKeyRequest, registerCustomerKey } from '../shared/pgp-keys/customer-keys.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/** `POST .../encryption/customer-keys` → `{ publicKeyId }`: a key the customer's files are signed with. */
export async function registerCustomerKeyFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'customer-keys-create', auth: 'required', schema: RegisterCustomerKeyRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => ({ json: await registerCustomerKey(pgpKeyDeps(await appServices()), tenant, body) }),
  );
}

app.http('customer-keys-create', {
  methods: ['POST'],
  route: 'data/foundation/connectors/encryption/customer-keys',
  authLevel: 'anonymous',
  handler: registerCustomerKeyFunction,
});
