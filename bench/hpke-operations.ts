import { diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { cipherSuite } from '../shared/hpke/cipher-suite.js';
import { openRequest } from '../shared/hpke/open-request.js';
import { sealResponse } from '../shared/hpke/seal-response.js';
import type { ServerKeyRing } from '../shared/hpke/server-keys.js';
import { DEFAULT_SUITE } from '../shared/hpke/suites.js';
import { FORMAT_VERSION, NO_CLIENT_KEY_ID, encodeHeader, joinMessage, requestAad, requestInfo } from '../shared/hpke/wire-format.js';
import { rounded } from './measure.js';
import { figure, type Figure } from './report.js';

export interface HpkeOperationOptions {
  /** Seconds per measured loop. */
  readonly seconds: number;
  readonly log: (line: string) => void;
}

const PAYLOAD = randomBytes(1024);
const PATH = '/data/foundation/catalog/dataSets';

/**
 * Runs `op` back to back for `seconds` (after a short warm-up) on this thread: operations per
 * second on one core, and per second of CPU this process got (on a busy machine it gets less than
 * a core: `cpuShare`).
 */
async function rate(
  seconds: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ perSecond: number; perCpuSecond: number; operations: number; cpuShare: number }> {
  for (let i = 0; i < 100; i++) await op(i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let n = 0;
  while (performance.now() < until) {
    for (let j = 0; j < 50; j++) await op(n++);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { perSecond: n / wall, perCpuSecond: n / cpuSeconds, operations: n, cpuShare: cpuSeconds / wall };
}

/**
 * Figures 4a/4b: sealing a 1 KiB response (`sealResponse`, as the API does for every encrypted
 * response) and opening a 1 KiB request (`openRequest`, with the replay cache's storage left out:
 * it is measured under load in 4c), per second on one core. References in the same run:
 * `@hpke/core`'s stock WebCrypto suite doing the same seal/open, and raw X25519 DH on node:crypto
 * KeyObjects (a seal or open needs one DH plus, for seal, one key generation).
 */
export async function hpkeOperationFigures(options: HpkeOperationOptions): Promise<Figure[]> {
  const suite = cipherSuite(DEFAULT_SUITE);
  const serverPair = await suite.kem.generateKeyPair();
  const serverPublic = new Uint8Array(await suite.kem.serializePublicKey(serverPair.publicKey));
  const clientPair = await suite.kem.generateKeyPair();
  const clientKey = {
    keyId: 1,
    kemId: DEFAULT_SUITE.kem.id,
    publicKey: new Uint8Array(await suite.kem.serializePublicKey(clientPair.publicKey)),
  };
  const header = encodeHeader({
    keyId: 7,
    kemId: DEFAULT_SUITE.kem.id,
    kdfId: DEFAULT_SUITE.kdf.id,
    aeadId: DEFAULT_SUITE.aead.id,
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const tenant = { org: 'BENCH0001@AdobeOrg', sandbox: 'prod' };
  const aad = requestAad({ method: 'POST', path: PATH, timestamp, ...tenant, clientKeyId: NO_CLIENT_KEY_ID });

  // Requests to open, each with its own enc (as clients send them), built before timing.
  const requests: Uint8Array[] = [];
  const pk = await suite.kem.deserializePublicKey(serverPublic);
  for (let i = 0; i < 1024; i++) {
    const sealed = await suite.seal({ recipientPublicKey: pk, info: requestInfo(header) }, PAYLOAD, aad);
    requests.push(joinMessage(header, new Uint8Array(sealed.enc), new Uint8Array(sealed.ct)));
  }
  const ring: ServerKeyRing = {
    published: () => Promise.resolve([]),
    find: () =>
      Promise.resolve({
        keyId: 7,
        kemId: DEFAULT_SUITE.kem.id,
        activeFrom: 0,
        activeUntil: Number.MAX_SAFE_INTEGER,
        keyPair: serverPair,
      }),
    acceptedIds: () => Promise.resolve([7]),
    invalidate: () => undefined,
  };
  const deps = {
    keys: ring,
    replay: { remember: () => Promise.resolve(), purge: () => Promise.resolve(0) },
    clock: { now: () => Date.now() },
  };
  const binding = { method: 'POST', path: PATH, status: 201, ...tenant };

  const seal = await rate(options.seconds, () =>
    sealResponse(clientKey, DEFAULT_SUITE.kdf, DEFAULT_SUITE.aead, binding, PAYLOAD),
  );
  const open = await rate(options.seconds, (i) =>
    openRequest(deps, {
      method: 'POST',
      path: PATH,
      timestamp,
      format: String(FORMAT_VERSION),
      ...tenant,
      body: requests[i % requests.length] ?? new Uint8Array(),
    }),
  );

  // The reference: the same library with its default (WebCrypto) X25519, HKDF and AES-GCM.
  const webcrypto = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  const refPair = await webcrypto.kem.generateKeyPair();
  const refPublic = await webcrypto.kem.serializePublicKey(refPair.publicKey);
  const refRequests = await Promise.all(
    Array.from({ length: 256 }, () =>
      webcrypto.seal({ recipientPublicKey: refPair.publicKey, info: requestInfo(header) }, PAYLOAD, aad),
    ),
  );
  const refSeal = await rate(options.seconds, async () =>
    webcrypto.seal(
      { recipientPublicKey: await webcrypto.kem.deserializePublicKey(refPublic), info: requestInfo(header) },
      PAYLOAD,
      aad,
    ),
  );
  const refOpen = await rate(options.seconds, (i) => {
    const r = refRequests[i % refRequests.length];
    if (r === undefined) throw new Error('no reference request');
    return webcrypto.open({ recipientKey: refPair, enc: r.enc, info: requestInfo(header) }, r.ct, aad);
  });

  // The floor under any X25519 HPKE: one DH on ready KeyObjects.
  const a = generateKeyPairSync('x25519');
  const b = generateKeyPairSync('x25519');
  const dh = await rate(options.seconds, () =>
    Promise.resolve(diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey })),
  );

  options.log(
    `  seal ${seal.perSecond.toFixed(0)}/s (${seal.perCpuSecond.toFixed(0)} per CPU second; WebCrypto suite ${refSeal.perSecond.toFixed(0)}/s), open ${open.perSecond.toFixed(0)}/s (${open.perCpuSecond.toFixed(0)} per CPU second; WebCrypto suite ${refOpen.perSecond.toFixed(0)}/s), X25519 DH ${dh.perSecond.toFixed(0)}/s`,
  );
  const common = {
    payloadBytes: PAYLOAD.length,
    suite: 'X25519 / HKDF-SHA256 / AES-256-GCM',
    nativeX25519DhPerSecond: dh.perSecond,
  };
  return [
    figure({
      id: '4a',
      name: 'HPKE seal, 1 KiB response, one core',
      value: seal.perSecond,
      unit: 'ops/s',
      reference: { name: '@hpke/core WebCrypto suite', value: refSeal.perSecond, unit: 'ops/s' },
      target: { compare: 'value', op: '>=', bound: 5000 },
      details: rounded({ ...common, ours: seal, webcrypto: refSeal }),
    }),
    figure({
      id: '4b',
      name: 'HPKE open, 1 KiB request, one core',
      value: open.perSecond,
      unit: 'ops/s',
      reference: { name: '@hpke/core WebCrypto suite', value: refOpen.perSecond, unit: 'ops/s' },
      target: { compare: 'value', op: '>=', bound: 5000 },
      details: rounded({ ...common, ours: open, webcrypto: refOpen }),
    }),
  ];
}
