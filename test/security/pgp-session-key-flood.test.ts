import { readdirSync, readFileSync } from 'node:fs';
import { createMessage, encrypt, generateKey, readKey, type PublicKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_NICENESS } from '../../shared/core/worker-priority.js';
import { MAX_PKESK_PER_MESSAGE, PGP_CONFIG } from '../../shared/pgp/config.js';
import { generateKeyPair, type GeneratedKeyPair } from '../../shared/pgp/generate-key-pair.js';
import { createPrivateKeyPool, type PrivateKeyPool } from '../../shared/pgp/private-key-pool.js';
import type { SessionKeyRequest } from '../../shared/pgp/session-keys.js';
import { ApiClient, landingZone, waitForRun } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { decryptAll, failureOf } from '../pgp/support.js';

/**
 * Attack: a 52 KiB file of 100 session key packets (PKESK) for the flow's RSA key, or for hidden
 * recipients, froze the API for every tenant: OpenPGP.js decrypts PKCS#1 v1.5 in pure-JS BigInt
 * (~80 ms a packet for RSA-4096) and tried every packet on the thread that serves HTTP. Now a
 * message with more than MAX_PKESK_PER_MESSAGE packets that would be tried is refused with
 * TOO_MANY_RECIPIENTS before any is, and the ones that are tried go to the private-key worker
 * pool in one job. Counted here: jobs and packets handed to the pool.
 */

const PASSPHRASE = 'flood';
const CSV = 'id,name\n1,a\n2,b\n';

let rsa: GeneratedKeyPair;
let rsaPublic: PublicKey;
let pool: PrivateKeyPool;
/** Every session-key job handed to the pool, with its packet count. */
const jobs: number[] = [];
const counting = {
  recoverSessionKeys: (request: SessionKeyRequest, whenBusy: 'wait' | 'refuse') => {
    jobs.push(request.packets.length);
    return pool.recoverSessionKeys(request, whenBusy);
  },
};

beforeAll(async () => {
  pool = createPrivateKeyPool({ workers: 1, maxWaiting: 0 });
  rsa = await generateKeyPair({ passphrase: PASSPHRASE, keyType: 'rsa4096' });
  rsaPublic = await readKey({ armoredKey: rsa.publicKeyArmored });
}, 60_000);

afterAll(async () => {
  await pool.close();
});

/** `copies` session key packets for `key` (hidden recipients with `wildcard`), plus one for each of `others`. */
async function messageTo(key: PublicKey, copies: number, options: { wildcard: boolean; others?: PublicKey[] }): Promise<Buffer> {
  const message = await createMessage({ binary: new TextEncoder().encode(CSV) });
  // openpgp's declared return type does not survive typescript-eslint: narrow it here.
  const bytes: unknown = await encrypt({
    message,
    encryptionKeys: [...Array.from({ length: copies }, () => key), ...(options.others ?? [])],
    wildcard: options.wildcard,
    format: 'binary',
    config: PGP_CONFIG,
  });
  if (!(bytes instanceof Uint8Array)) throw new Error('openpgp returned no bytes');
  return Buffer.from(bytes);
}

function options() {
  return { privateKeyArmored: rsa.privateKeyArmored, passphrase: PASSPHRASE, privateKeys: counting };
}

describe('attack: a message flooded with session key packets for our RSA key', () => {
  it('refuses 100 hidden-recipient packets with TOO_MANY_RECIPIENTS before trying any', async () => {
    jobs.length = 0;
    const err = await failureOf(await messageTo(rsaPublic, 100, { wildcard: true }), options());
    expect(err.code).toBe('TOO_MANY_RECIPIENTS');
    expect(err.sessionKeyPackets).toBe(100);
    expect(err.maxSessionKeyPackets).toBe(MAX_PKESK_PER_MESSAGE);
    expect(jobs).toEqual([]);
    expect(pool.stats().started.recoverSessionKeys ?? 0).toBe(0);
  }, 60_000);

  it('refuses 100 packets naming our key id the same way', async () => {
    jobs.length = 0;
    const err = await failureOf(await messageTo(rsaPublic, 100, { wildcard: false }), options());
    expect(err.code).toBe('TOO_MANY_RECIPIENTS');
    expect(err.sessionKeyPackets).toBe(100);
    expect(jobs).toEqual([]);
  }, 60_000);

  it('honours a lower limit given by the caller (MAX_PKESK_PER_MESSAGE)', async () => {
    const err = await failureOf(await messageTo(rsaPublic, 3, { wildcard: true }), { ...options(), maxSessionKeyPackets: 2 });
    expect(err.code).toBe('TOO_MANY_RECIPIENTS');
    expect(err.sessionKeyPackets).toBe(3);
  }, 60_000);

  it(`decrypts a message at the limit (${MAX_PKESK_PER_MESSAGE} hidden recipients) in one worker job`, async () => {
    jobs.length = 0;
    const before = pool.stats().started.recoverSessionKeys ?? 0;
    const { plaintext } = await decryptAll(await messageTo(rsaPublic, MAX_PKESK_PER_MESSAGE, { wildcard: true }), options());
    expect(plaintext.toString()).toBe(CSV);
    expect(jobs).toEqual([MAX_PKESK_PER_MESSAGE]);
    expect(pool.stats().started.recoverSessionKeys).toBe(before + 1);
  }, 120_000);

  it('runs the worker thread below the priority of the thread serving HTTP (Linux niceness)', () => {
    // Field 19 of /proc/<pid>/task/<tid>/stat is the niceness; the pool's worker is a thread of this process.
    const niceness = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    expect(pool.stats().workers).toBe(1);
    expect(niceness.filter((n) => n === WORKER_NICENESS)).toHaveLength(1);
    expect(niceness.filter((n) => n === 0).length).toBeGreaterThan(1);
  });

  it('does not count packets for other recipients: 40 strangers and us cost one packet', async () => {
    const stranger = (await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 's' }], format: 'object' })).publicKey;
    jobs.length = 0;
    const { plaintext } = await decryptAll(
      await messageTo(rsaPublic, 1, { wildcard: false, others: Array.from({ length: 40 }, () => stranger) }),
      options(),
    );
    expect(plaintext.toString()).toBe(CSV);
    expect(jobs).toEqual([1]);
  }, 60_000);
});

describe('attack: the flood landed into a zone for a flow with an RSA key', () => {
  const ORG = 'PKESKFLOOD@AdobeOrg';
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let api: ApiClient;
  let flowId = '';
  let flowKey: PublicKey;

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: '200' });
    api = new ApiClient(runtime.url, ORG);
    const key = await api.json<{ publicKey: string; publicKeyId: string }>('POST', '/data/foundation/connectors/encryption/keys', {
      name: 'rsa flow key',
      encryptionAlgorithm: 'PGP',
      params: { passPhrase: 'an rsa key', keyType: 'RSA' },
    });
    flowKey = await readKey({ armoredKey: Buffer.from(key.publicKey, 'base64').toString('utf8') });
    const [dataSetRef] = await api.json<string[]>('POST', '/data/foundation/catalog/dataSets', { name: 'flood' });
    const target = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/targetConnections', {
      name: 'to flood',
      params: { dataSetId: dataSetRef?.split('/')[2] ?? '' },
    });
    const source = await api.json<{ id: string }>('POST', '/data/foundation/flowservice/sourceConnections', {
      name: 'landing',
      data: { format: 'delimited' },
      params: { path: '/flood/*.csv.gpg' },
    });
    flowId = (
      await api.json<{ id: string }>('POST', '/data/foundation/flowservice/flows', {
        name: 'flood flow',
        sourceConnectionIds: [source.id],
        targetConnectionIds: [target.id],
        transformations: [{ name: 'Encryption', params: { publicKeyId: key.publicKeyId } }],
      })
    ).id;
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  it('fails the file with TOO_MANY_RECIPIENTS naming the limit, and ingests a file at the limit', async () => {
    const landing = await landingZone(api);
    const flood = await landing.getBlockBlobClient('flood/hundred.csv.gpg').uploadData(await messageTo(flowKey, 100, { wildcard: true }));
    const failed = await waitForRun(api, flowId, 'flood/hundred.csv.gpg', { etag: flood.etag ?? '', timeoutMs: 60_000 });
    expect(failed.status).toBe('failed');
    expect(failed.errors[0]?.code).toBe('TOO_MANY_RECIPIENTS');
    expect(failed.errors[0]?.message).toContain(`at most ${MAX_PKESK_PER_MESSAGE}`);
    expect(failed.batchId).toBeUndefined();

    const fine = await landing.getBlockBlobClient('flood/two.csv.gpg').uploadData(await messageTo(flowKey, 2, { wildcard: true }));
    const ok = await waitForRun(api, flowId, 'flood/two.csv.gpg', { etag: fine.etag ?? '', timeoutMs: 60_000 });
    expect(ok.status).toBe('success');
  }, 150_000);
});
