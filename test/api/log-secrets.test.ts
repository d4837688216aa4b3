import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REDACTED } from '../../shared/logging/logger.js';
import { authHeaders, captureLogs, harness, mint, request } from './support.js';

const PASSPHRASE = 'pp-7f3a9c1e-very-secret-passphrase';
const PRIVATE_KEY = '-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQdGBGZ-secret-key-material-9b2d\n-----END PGP PRIVATE KEY BLOCK-----';
const PLAINTEXT = 'plaintext-payload-4c1d-credit-card-4111111111111111';

const Body = z.strictObject({ passPhrase: z.string(), privateKey: z.string(), payload: z.string() });

describe('secrets in logs', () => {
  it('never writes the token, passphrase, private key or plaintext to any log line', async () => {
    const h = await harness();
    const token = await mint(h.keys);
    const body = JSON.stringify({ passPhrase: PASSPHRASE, privateKey: PRIVATE_KEY, payload: PLAINTEXT });
    const route = { route: 'secret-route', auth: 'required', schema: Body } as const;
    const headers = authHeaders(token, { 'content-type': 'application/json' });

    // A handler that logs carelessly: redaction is the second line of defence.
    await h.api.handle(request({ method: 'POST', headers, body }), route, (c) => {
      c.log.info({ passPhrase: c.body.passPhrase, key: { privateKey: c.body.privateKey }, body: c.body, authorization: `Bearer ${token}` }, 'careless');
      return Promise.resolve({ json: { ok: true } });
    });
    // Failures: a handler crash, a schema failure, a wrong org, a wrong api key, malformed JSON.
    await h.api.handle(request({ method: 'POST', headers, body }), route, () => Promise.reject(new Error('decrypt failed')));
    await h.api.handle(request({ method: 'POST', headers, body: JSON.stringify({ passPhrase: 1, privateKey: PRIVATE_KEY, payload: PLAINTEXT, x: PASSPHRASE }) }), route, () => Promise.resolve({}));
    await h.api.handle(request({ method: 'POST', headers: { ...headers, 'x-gw-ims-org-id': 'NOPE@AdobeOrg' }, body }), route, () => Promise.resolve({}));
    await h.api.handle(request({ method: 'POST', headers: { ...headers, 'x-api-key': PASSPHRASE }, body }), route, () => Promise.resolve({}));
    await h.api.handle(request({ method: 'POST', headers, body: `{"passPhrase": "${PASSPHRASE}", ${PLAINTEXT}` }), route, () => Promise.resolve({}));
    await h.api.handle(request({ method: 'POST', headers: { ...headers, authorization: `Bearer ${token}x` }, body }), route, () => Promise.resolve({}));

    const all = h.logs.raw.join('\n');
    expect(h.logs.raw.length).toBeGreaterThanOrEqual(8);
    for (const secret of [token, token.split('.')[2] ?? token, PASSPHRASE, 'secret-key-material', PLAINTEXT]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain(REDACTED);
  });

  it('redacts known secret fields at nested depths in any log call', () => {
    const logs = captureLogs();
    logs.logger.info({ headers: { authorization: 'Bearer abc.def.ghi', 'x-api-key': 'k' }, req: { body: { params: { passPhrase: PASSPHRASE } } } });
    logs.logger.child({ token: 'abc.def.ghi' }).warn({ a: { b: { privateKey: PRIVATE_KEY } } });
    const all = logs.raw.join('\n');
    expect(all).not.toContain('abc.def.ghi');
    expect(all).not.toContain(PASSPHRASE);
    expect(all).not.toContain('secret-key-material');
  });
});
