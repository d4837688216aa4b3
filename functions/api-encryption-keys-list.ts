import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { hpkeServices } from '../shared/hpke/hpke-services.js';
import { rotateServerKeys } from '../shared/hpke/server-keys.js';
import { encodeKeyConfigList, OHTTP_KEYS_MEDIA_TYPE } from '../shared/hpke/ohttp-key-config.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/**
 * `GET /api-encryption/keys` → `{ keys: [...] }`, our HPKE public keys (`next`, `active`,
 * `retiring`); with `Accept: application/ohttp-keys`, the same keys as RFC 9458 §3 key
 * configurations. Public: no token needed to learn where to encrypt to.
 */
export async function listApiEncryptionKeys(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'api-encryption-keys-list', auth: 'none', invocationId: ctx.invocationId }, async () => {
    const hpke = await hpkeServices(appServices);
    let keys = await hpke.ring.published();
    if (keys.length === 0) {
      // First start: the rotation timer may not have run yet; creating the first key is insert-if-absent.
      await rotateServerKeys(hpke.serverKeys, hpke.lifetimeMs);
      hpke.ring.invalidate();
      keys = await hpke.ring.published();
    }
    if ((req.headers.get('accept') ?? '').toLowerCase().includes(OHTTP_KEYS_MEDIA_TYPE)) {
      const body = encodeKeyConfigList(keys.map((k) => ({ ...k, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64url')) })));
      return { headers: { 'content-type': OHTTP_KEYS_MEDIA_TYPE }, body };
    }
    return { json: { keys } };
  });
}

app.http('api-encryption-keys-list', {
  methods: ['GET'],
  route: 'api-encryption/keys',
  authLevel: 'anonymous',
  handler: listApiEncryptionKeys,
});
