import { createHpkeFetch, generateClientKeyPair, type ClientKeyPair } from '../shared/hpke/client.js';
import { HpkeClientKeys, HpkeServerKeys } from '../shared/api/openapi/response-schemas.js';
import { ApiClient, type Fetcher } from './api-client.js';
import { saveConfig, type CliConfig } from './config.js';
import { ApiProblemError, CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

const MAX_CLIENT_KEY_ID = 255;

/**
 * An API client whose bodies and answers travel HPKE-encrypted. The first use registers a client
 * key for the org (the lowest free key id) and keeps its private key in the config file (0600).
 */
export async function hpkeApiClient(config: CliConfig, configFile: string): Promise<ApiClient> {
  const plain = new ApiClient(config);
  const clientKey = await ensureClientKey(plain, config, configFile);
  const serverKey = async () => {
    const res = await fetch(plain.url('/api-encryption/keys')).catch((err: unknown) => {
      throw new CliError(`cannot reach ${config.baseUrl}`, EXIT.NETWORK, { cause: err });
    });
    const parsed = HpkeServerKeys.safeParse(await res.json().catch(() => undefined));
    const active = parsed.success ? parsed.data.keys.find((k) => k.status === 'active') : undefined;
    if (active === undefined) throw new CliError('the API lists no active HPKE key', EXIT.ERROR);
    return active;
  };
  const hpkeFetch = createHpkeFetch({ serverKey, clientKey });
  const fetcher: Fetcher = (url, init) => hpkeFetch(url, init);
  return new ApiClient(config, fetcher);
}

async function ensureClientKey(plain: ApiClient, config: CliConfig, configFile: string): Promise<ClientKeyPair> {
  const saved = config.hpke;
  let keys;
  try {
    ({ keys } = await plain.json('GET', '/api-encryption/client-keys', HpkeClientKeys));
  } catch (err) {
    // An org that requires encryption answers nothing in plaintext, not even its key list: use the
    // saved key (answers sealed to another key fail to open), or say how to get one.
    if (!(err instanceof ApiProblemError) || err.problem.code !== 'HPKE_REQUIRED') throw err;
    if (saved !== undefined) return savedPair(saved);
    throw new CliError(
      'the organization requires encryption and this config holds no HPKE client key: register one before requireEncryption is turned on, or copy the config that holds it',
      EXIT.ERROR,
      { cause: err },
    );
  }
  if (
    saved !== undefined &&
    keys.some((k) => k.keyId === saved.keyId && k.publicKey === saved.publicKey && k.pending === undefined)
  ) {
    return savedPair(saved);
  }
  const used = new Set(keys.map((k) => k.keyId));
  let keyId = 0;
  while (used.has(keyId)) keyId++;
  if (keyId > MAX_CLIENT_KEY_ID)
    throw new CliError('every HPKE client key id (0..255) of the org is taken', EXIT.ERROR);
  const pair = await generateClientKeyPair(keyId);
  const publicKey = Buffer.from(pair.publicKey).toString('base64url');
  await plain.send('PUT', `/api-encryption/client-keys/${keyId}`, { kemId: pair.kemId, publicKey });
  await saveConfig(configFile, {
    ...config,
    hpke: { keyId, kemId: pair.kemId, publicKey, privateKey: Buffer.from(pair.privateKey).toString('base64url') },
  });
  return pair;
}

function savedPair(saved: NonNullable<CliConfig['hpke']>): ClientKeyPair {
  return {
    keyId: saved.keyId,
    kemId: saved.kemId,
    publicKey: new Uint8Array(Buffer.from(saved.publicKey, 'base64url')),
    privateKey: new Uint8Array(Buffer.from(saved.privateKey, 'base64url')),
  };
}
