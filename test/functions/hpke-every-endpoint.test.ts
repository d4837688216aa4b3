import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHpkeFetch, generateClientKeyPair, type ServerKeyInfo } from '../../shared/hpke/client.js';
import { generateKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { apiHeaders } from '../support/tokens.js';

const ORG = 'CF0904HPKE@AdobeOrg';
const OTHER_ORG = 'CF0905HPKE@AdobeOrg';

type Body = unknown;
type Fetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Response>;

/**
 * Every JSON endpoint, called once in plaintext and once with an HPKE-encrypted request and an
 * encrypted response, in the order a customer sets up ingestion: both must give the same status
 * and a JSON body of the same shape.
 */
describe('HPKE on every JSON endpoint', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let hpkeFetch: Fetch;

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
    const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: ServerKeyInfo[] };
    const serverKey = keys.find((k) => k.status === 'active');
    if (serverKey === undefined) throw new Error('no active server key');
    const clientKey = await generateClientKeyPair(7);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/7`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') }),
    });
    expect(put.status).toBe(201);
    hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey });
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  /** Calls an endpoint both ways; returns the plaintext answer's JSON (body factories get a suffix per call). */
  async function both(method: string, path: string, body?: (n: number) => Body, expected = 200, plainOrg = ORG): Promise<unknown> {
    const answers: { status: number; json: unknown; type: string | null }[] = [];
    for (const [n, call] of [fetch as Fetch, hpkeFetch].entries()) {
      const org = n === 0 ? plainOrg : ORG;
      const headers = await apiHeaders(org, undefined, body === undefined ? {} : { 'content-type': 'application/json' });
      const res = await call(`${runtime.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body(n)) }) });
      const text = await res.text();
      answers.push({ status: res.status, json: text === '' ? null : (JSON.parse(text) as unknown), type: res.headers.get('content-type') });
    }
    const [plain, sealed] = answers;
    expect(plain?.status, `${method} ${path}: ${JSON.stringify(plain?.json)}`).toBe(expected);
    expect(sealed?.status, `${method} ${path} (HPKE): ${JSON.stringify(sealed?.json)}`).toBe(expected);
    expect(shape(sealed?.json)).toEqual(shape(plain?.json));
    return plain?.json;
  }

  it('answers the same, encrypted or not, through a whole set-up', async () => {
    const key = (await both('POST', '/data/foundation/connectors/encryption/keys', (n) => ({
      name: `key-${n}`, encryptionAlgorithm: 'PGP', params: { passPhrase: 'passphrase' },
    }))) as { publicKeyId: string };
    await both('GET', '/data/foundation/connectors/encryption/keys');
    await both('GET', `/data/foundation/connectors/encryption/keys/${key.publicKeyId}`);
    await both('GET', `/data/foundation/connectors/encryption/keys/validate/${key.publicKeyId}`);

    const customer = await generateKeyPair({ passphrase: 'customer', name: 'Customer' });
    const customerKey = (await both('POST', '/data/foundation/connectors/encryption/customer-keys', () => ({
      encryptionAlgorithm: 'PGP', publicKey: Buffer.from(customer.publicKeyArmored).toString('base64'),
    }))) as { publicKeyId: string };
    await both('GET', '/data/foundation/connectors/encryption/customer-keys');

    const [ref] = (await both('POST', '/data/foundation/catalog/dataSets', (n) => ({ name: `ds-${n}` }), 201)) as string[];
    const dataSetId = ref?.split('/')[2] ?? '';
    await both('GET', `/data/foundation/catalog/dataSets/${dataSetId}`);

    const source = (await both('POST', '/data/foundation/flowservice/sourceConnections', (n) => ({
      name: `src-${n}`, data: { format: 'delimited' }, params: { path: `/in${n}/*.csv.gpg` },
    }), 201)) as { id: string };
    await both('GET', `/data/foundation/flowservice/sourceConnections/${source.id}`);
    const target = (await both('POST', '/data/foundation/flowservice/targetConnections', (n) => ({
      name: `tgt-${n}`, params: { dataSetId },
    }), 201)) as { id: string };
    await both('GET', `/data/foundation/flowservice/targetConnections/${target.id}`);
    const flow = (await both('POST', '/data/foundation/flowservice/flows', (n) => ({
      name: `flow-${n}`, sourceConnectionIds: [source.id], targetConnectionIds: [target.id],
      transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId, signVerificationKeyId: customerKey.publicKeyId } }],
    }), 201)) as { id: string };
    await both('GET', `/data/foundation/flowservice/flows/${flow.id}`);
    await both('GET', '/data/foundation/flowservice/flows');
    await both('GET', `/data/foundation/flowservice/runs?property=flowId==${flow.id}`);
    await both('GET', `/data/foundation/catalog/batches?dataSet=${dataSetId}`);

    await both('GET', '/data/infrastructure/manager/byok/app-registration');
    // One configuration per org may be in progress, so the plaintext call configures another org.
    await both('POST', '/data/infrastructure/manager/customer/config', (n) => ({
      name: `config-${n}`, type: 'BYOK_CONFIG', imsOrgId: n === 0 ? OTHER_ORG : ORG,
      configData: { providerType: 'AZURE_KEYVAULT', keyVaultKeyIdentifier: `${stack.vault.url}/keys/customer-key-${n}` },
    }), 200, OTHER_ORG);
    await both('GET', '/data/infrastructure/manager/customer/config/config-1?configType=BYOK_CONFIG', undefined, 200);
    await both('GET', '/api-encryption/client-keys');
    // Errors are answered the same way too (problem+json, encrypted when asked).
    await both('GET', '/data/foundation/catalog/dataSets/000000000000000000000000', undefined, 404);
    await both('POST', '/data/foundation/catalog/dataSets', () => ({ name: 7 }), 400);
  });
});

/** The shape of a JSON value: keys and types, not values (ids and names differ between calls). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [/^[0-9a-f]{24}$/.test(k) ? '<id>' : k, shape(v)]));
  }
  return typeof value;
}
