import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerBusyError } from '../../shared/errors.js';
import { toProblem } from '../../shared/http/problems.js';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { createPrivateKeyPool, SERVER_BUSY_RETRY_AFTER_SECONDS, type PrivateKeyPool } from '../../shared/pgp/private-key-pool.js';
import { ApiClient } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

/**
 * Attack: six concurrent RSA-4096 key creations raised every tenant's latency to 4.3 s: key
 * generation (and, for files, key unlock and session key decryption) ran on the thread that
 * serves HTTP, unbounded. Now it runs in a bounded pool of worker threads: at most
 * PRIVATE_KEY_WORKERS jobs at once, at most PRIVATE_KEY_WAITING HTTP requests waiting, and the
 * next HTTP request is answered 503 SERVER_BUSY with Retry-After at once; an ingestion waits.
 * Counted here: jobs started, refused and answered.
 */

const RSA = { passphrase: 'busy', keyType: 'rsa4096' } as const;

describe('attack: more private-key work than the pool holds', () => {
  let pool: PrivateKeyPool;
  beforeAll(() => {
    pool = createPrivateKeyPool({ workers: 1, maxWaiting: 1 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('runs one job per worker, lets PRIVATE_KEY_WAITING requests wait, and refuses the next with SERVER_BUSY', async () => {
    const running = pool.generateKeyPair(RSA, 'refuse');
    const waiting = pool.generateKeyPair(RSA, 'refuse');
    const refused = pool.generateKeyPair(RSA, 'refuse').then(
      () => undefined,
      (err: unknown) => err,
    );
    // An ingestion never gets refused: it waits behind the line, however long.
    const ingestion = pool.generateKeyPair(RSA, 'wait');
    expect(pool.stats()).toMatchObject({ workers: 1, busy: 1, waiting: 2, refused: 1 });

    const err = await refused;
    expect(err).toBeInstanceOf(ServerBusyError);
    const problem = toProblem(err, 'req-1');
    expect(problem.status).toBe(503);
    expect(problem.body.code).toBe('SERVER_BUSY');
    expect(problem.headers['retry-after']).toBe(String(SERVER_BUSY_RETRY_AFTER_SECONDS));

    const pairs = await Promise.all([running, waiting, ingestion]);
    expect(pairs.every((p) => p.publicKeyArmored.includes('BEGIN PGP PUBLIC KEY BLOCK'))).toBe(true);
    expect(pool.stats()).toMatchObject({ busy: 0, waiting: 0, refused: 1, started: { generateKeyPair: 3 } });
  }, 120_000);

  it('reports a failure inside the worker as the caller would see it in-thread (RangeError)', async () => {
    await expect(pool.generateKeyPair({ passphrase: '' }, 'refuse')).rejects.toBeInstanceOf(RangeError);
  });

  it('reads PRIVATE_KEY_WORKERS and PRIVATE_KEY_WAITING, refusing nonsense', () => {
    expect(loadConfigPart('privateKeyPool', { PRIVATE_KEY_WORKERS: '3', PRIVATE_KEY_WAITING: '0' })).toEqual({ workers: 3, maxWaiting: 0 });
    const defaults = loadConfigPart('privateKeyPool', {});
    expect(defaults.workers).toBeGreaterThanOrEqual(1);
    expect(defaults.maxWaiting).toBe(8);
    expect(() => loadConfigPart('privateKeyPool', { PRIVATE_KEY_WORKERS: '0' })).toThrow(/PRIVATE_KEY_WORKERS/);
    expect(() => loadConfigPart('privateKeyPool', { PRIVATE_KEY_WAITING: '-1' })).toThrow(/PRIVATE_KEY_WAITING/);
  });
});

describe('attack: six concurrent RSA-4096 key creations against the running app', () => {
  const ORG = 'KEYGENFLOOD@AdobeOrg';
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, PRIVATE_KEY_WORKERS: '1', PRIVATE_KEY_WAITING: '1' });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  it('creates as many as the pool holds, answers the rest 503 SERVER_BUSY with Retry-After, and stays up', async () => {
    const api = new ApiClient(runtime.url, ORG);
    // One creation first, so the app, its vault and tables are warm and the six arrive together.
    await api.json('POST', '/data/foundation/connectors/encryption/keys', { encryptionAlgorithm: 'PGP', params: { passPhrase: 'warm', keyType: 'Curve25519' } });
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await api.request('POST', '/data/foundation/connectors/encryption/keys', {
          encryptionAlgorithm: 'PGP',
          params: { passPhrase: 'six at once', keyType: 'RSA' },
        });
        const body = (await res.json()) as { code?: string };
        return { status: res.status, code: body.code, retryAfter: res.headers.get('retry-after') };
      }),
    );
    const created = answers.filter((a) => a.status === 200);
    const busy = answers.filter((a) => a.status === 503);
    expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
    // One worker and one place in line: at least two get through, and with six at once some are refused.
    expect(created.length).toBeGreaterThanOrEqual(2);
    expect(busy.length).toBeGreaterThanOrEqual(1);
    expect(busy.every((b) => b.code === 'SERVER_BUSY' && b.retryAfter === String(SERVER_BUSY_RETRY_AFTER_SECONDS))).toBe(true);
    expect((await fetch(`${runtime.url}/health`)).status).toBe(200);
  }, 120_000);
});
