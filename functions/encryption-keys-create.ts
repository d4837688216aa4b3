import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { CreateEncryptionKeyRequest, createEncryptionKey } from '../shared/pgp-keys/encryption-keys.js';
import { pgpKeyDeps } from '../shared/pgp-keys/key-deps.js';

/** `POST .../encryption/keys` → `{ publicKey (Base64 armored), publicKeyId, expiryTime }`, Adobe's answer. */
export async function createEncryptionKeyFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(
    req,
    { route: 'encryption-keys-create', auth: 'required', schema: CreateEncryptionKeyRequest, invocationId: ctx.invocationId },
    async ({ tenant, body }) => {
      const key = await createEncryptionKey(pgpKeyDeps(await appServices()), tenant, body);
      return { json: { publicKey: key.publicKey, publicKeyId: key.publicKeyId, expiryTime: key.expiryTime } };
    },
  );
}

app.http('encryption-keys-create', {
  methods: ['POST'],
  route: 'data/foundation/connectors/encryption/keys',
  authLevel: 'anonymous',
  handler: createEncryptionKeyFunction,
});
