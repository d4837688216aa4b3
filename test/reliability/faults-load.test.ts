import { readFileSync } from 'node:fs';
import type { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { createHpkeFetch, generateClientKeyPair, type ServerKeyInfo } from '../../shared/hpke/client.js';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { createRateLimiter } from '../../shared/http/rate-limit.js';
import { apiHeaders, type ApiClient } from '../support/api-client.js';
import { startRuntime } from '../support/runtime-process.js';
import {
  clientFor,
  deliveries,
  encryptLargeFile,
  eventsQueueDepth,
  expectExactlyOnce,
  poisonedEvents,
  recordsIn,
  runsOf,
  setUpFlow,
  useFaultStack,
  waitForAll,
  type Flow,
} from './faults-support.js';

const ORG = 'CF00L0AD00@AdobeOrg';
const ORG2 = 'CF00L0AD02@AdobeOrg';
const NOISY = 'CF00N01SY0@AdobeOrg';
const QUIET = 'CF00QU1E70@AdobeOrg';
/** The landing zones the files land in: two orgs, two sandboxes each; the API clients use the first. */
const ZONES = [
  { org: ORG, sandbox: 'prod', folder: 'loada' },
  { org: ORG, sandbox: 'load-b', folder: 'loadb' },
  { org: ORG2, sandbox: 'prod', folder: 'loadc' },
  { org: ORG2, sandbox: 'load-d', folder: 'loadd' },
] as const;
const FILES = 100;
/** Mixed sizes, cycled: 1 KiB to 8 MiB (about 230 MiB in all). */
const SIZES = [1024, 64 * 1024, 1024 * 1024, 8 * 1024 * 1024];
const PLAIN_CLIENTS = 8;
const HPKE_CLIENTS = 4;
/** The runtime may grow by this much while it ingests 100 files and serves the clients. */
const MAX_RSS_GROWTH = 600 * 1024 * 1024;

/** A zone of {@link ZONES} set up: its container on the SAS, its flow, and the files landed in it (name → ETag). */
interface LoadZone {
  readonly folder: string;
  readonly container: ContainerClient;
  readonly api: ApiClient;
  readonly flow: Flow;
  readonly files: Map<string, string>;
}

function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

/**
 * 100 encrypted files of mixed sizes landing at once in four landing zones (two orgs, two
 * sandboxes each) while plaintext and HPKE API clients call the API concurrently: every file lands
 * in its own zone's dataset exactly once, every event is delivered once, every request succeeds
 * (the only acceptable refusal is 429 with Retry-After), and the runtime's memory stays bounded.
 */
describe('load: 100 files at once into several landing zones with concurrent API clients', () => {
  const faults = useFaultStack();

  it('ingests every file once and serves every request', { timeout: 180_000 }, async () => {
    const { stack, runtime, gpg } = faults;
    const zones: LoadZone[] = [];
    for (const { org, sandbox, folder } of ZONES) {
      const container = await faults.zone(org, sandbox);
      const zoneApi = clientFor(runtime, org, sandbox);
      zones.push({ folder, container, api: zoneApi, flow: await setUpFlow(zoneApi, gpg, folder), files: new Map() });
    }
    const [first] = zones;
    if (first === undefined) throw new Error('no zone');
    const { api, flow } = first;
    const sizes = Array.from({ length: FILES }, (_, i) => SIZES[i % SIZES.length] ?? 1024);
    // One encrypted file per size, to every zone's key, landed under many names (each upload is
    // its own blob version).
    const recipients = zones.map((z) => z.flow.recipient);
    const encrypted = await Promise.all(SIZES.map((size) => encryptLargeFile(gpg, recipients, size, `load-${size}.csv.gpg`)));

    const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: ServerKeyInfo[] };
    const serverKey = keys.find((k) => k.status === 'active');
    if (serverKey === undefined) throw new Error('no active HPKE key');
    const clientKey = await generateClientKeyPair(7);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/7`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({ kemId: 32, publicKey: Buffer.from(clientKey.publicKey).toString('base64url') }),
    });
    expect(put.status).toBe(201);
    const hpkeFetch = createHpkeFetch({ serverKey: () => Promise.resolve(serverKey), clientKey });

    const pid = runtime.child.pid ?? 0;
    const baseline = rss(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(pid));
    }, 100);

    const statuses = new Map<number, number>();
    const unexpected: string[] = [];
    let done = false;
    const record = async (what: string, res: Response) => {
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const body = await res.text();
      if (res.status === 429 && res.headers.get('retry-after') !== null) return;
      if (res.status >= 300) unexpected.push(`${what} → ${res.status} ${body.slice(0, 200)}`);
    };
    const plainClient = async (n: number) => {
      for (let i = 0; !done; i++) {
        const headers = await apiHeaders(ORG, 'prod', { 'content-type': 'application/json' });
        const created = await fetch(`${runtime.url}/data/foundation/catalog/dataSets`, { method: 'POST', headers, body: JSON.stringify({ name: `p${n}-${i}` }) });
        await record('create dataset', created);
        await record('list runs', await fetch(`${runtime.url}/data/foundation/flowservice/runs?property=flowId==${flow.flowId}`, { headers }));
        await record('list batches', await fetch(`${runtime.url}/data/foundation/catalog/batches?dataSet=${flow.dataSetId}`, { headers }));
      }
    };
    const hpkeClient = async (n: number) => {
      for (let i = 0; !done; i++) {
        const headers = await apiHeaders(ORG, 'prod');
        const created = await hpkeFetch(`${runtime.url}/data/foundation/catalog/dataSets`, { method: 'POST', headers, body: JSON.stringify({ name: `h${n}-${i}` }) });
        await record('hpke create dataset', created);
        await record('hpke get flow', await hpkeFetch(`${runtime.url}/data/foundation/flowservice/flows/${flow.flowId}`, { headers }));
      }
    };

    const started = Date.now();
    const clients = [
      ...Array.from({ length: PLAIN_CLIENTS }, (_, n) => plainClient(n)),
      ...Array.from({ length: HPKE_CLIENTS }, (_, n) => hpkeClient(n)),
    ];
    await Promise.all(sizes.map(async (size, i) => {
      // A quarter of the files per zone, every size in each.
      const zone = zones[Math.floor((i * zones.length) / FILES)] ?? first;
      const name = `${zone.folder}/f${String(i).padStart(3, '0')}.csv.gpg`;
      const uploaded = await zone.container.getBlockBlobClient(name).uploadFile(encrypted[SIZES.indexOf(size)] ?? '', { blockSize: 4 * 1024 * 1024 });
      zone.files.set(name, uploaded.etag ?? '');
    }));
    try {
      for (const zone of zones) await waitForAll(zone.api, zone.flow.flowId, zone.files, 150_000 - (Date.now() - started));
    } finally {
      done = true;
      await Promise.all(clients);
      clearInterval(sampler);
    }
    const elapsed = Date.now() - started;
    for (const zone of zones) {
      expect(zone.files.size, zone.folder).toBe(FILES / zones.length);
      const runs = await expectExactlyOnce(zone.api, zone.flow, zone.files);
      expect(runs.length, zone.folder).toBe(zone.files.size);
      for (const run of runs) {
        expect(run.fileName.startsWith(`${zone.folder}/`), run.fileName).toBe(true);
        const size = sizes[Number(/f(\d+)\./.exec(run.fileName)?.[1])] ?? 0;
        expect(run.metrics, run.fileName).toMatchObject({ outputBytes: size, recordCount: recordsIn(size) });
      }
    }
    // Each message ends delivered successfully and each file was decrypted exactly once. Event
    // Grid and the queue deliver at least once: under a full CI load a few first attempts failed on
    // a transient fault before any file was read (the host then delivered the same message again)
    // or an upload was delivered twice; the runs keyed by ETag absorbed both. Those extra
    // deliveries are printed and bounded, never a second decryption.
    const delivered = deliveries(runtime);
    const lastOf = new Map(delivered.map((d) => [d.messageId, d]));
    expect([...lastOf.values()].filter((d) => d.outcome !== 'Succeeded')).toEqual([]);
    expect(delivered.flatMap((d) => d.events.filter((e) => e.event === 'ingestion-succeeded'))).toHaveLength(FILES);
    const extras = delivered.filter((d) => !d.events.some((e) => e.event === 'ingestion-succeeded'));
    if (extras.length > 0) {
      const shown = extras.map((d) => ({ messageId: d.messageId, dequeueCount: d.dequeueCount, outcome: d.outcome, events: d.events.map((e) => e.event) }));
      process.stdout.write(`load: ${extras.length} extra deliveries, none decrypting: ${JSON.stringify(shown)}\n`);
    }
    expect(delivered.length).toBe(FILES + extras.length);
    expect(extras.length).toBeLessThanOrEqual(FILES / 10);
    expect(await eventsQueueDepth(stack.azurite.connectionString)).toBe(0);
    expect(await poisonedEvents(stack.azurite.connectionString)).toEqual([]);
    const served = [...statuses.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(
      `load: ${FILES} files (${(sizes.reduce((a, b) => a + b, 0) / 2 ** 20).toFixed(0)} MiB) in ${elapsed} ms; ` +
        `${served} API requests ${JSON.stringify(Object.fromEntries(statuses))}; runtime RSS ${(baseline / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MiB\n`,
    );
    expect(unexpected).toEqual([]);
    expect(served).toBeGreaterThan(PLAIN_CLIENTS + HPKE_CLIENTS);
    expect(peak - baseline).toBeLessThan(MAX_RSS_GROWTH);
    expect((await runsOf(api, flow.flowId)).length).toBe(FILES / zones.length);
  });

  it('throttles one org over API_RATE_LIMIT_PER_ORG with 429 and Retry-After, not the others', { timeout: 60_000 }, async () => {
    const { stack } = faults;
    const limited = await startRuntime({ ...stack.env, API_RATE_LIMIT_PER_ORG: '5' });
    try {
      const call = async (org: string) => fetch(`${limited.url}/data/foundation/connectors/encryption/keys`, { headers: await apiHeaders(org, 'prod') });
      // A burst of 40 from one org (burst allowance: 10) while another org makes 8 calls.
      const [noisy, quiet] = await Promise.all([
        Promise.all(Array.from({ length: 40 }, () => call(NOISY))),
        Promise.all(Array.from({ length: 8 }, () => call(QUIET))),
      ]);
      const refused = noisy.filter((r) => r.status === 429);
      expect(noisy.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(10);
      expect(refused.length).toBeGreaterThanOrEqual(20);
      expect(noisy.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      for (const res of refused) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(((await res.json()) as { code: string }).code).toBe('RATE_LIMITED');
      }
      expect(quiet.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 200));
      // After the advertised wait, the org is served again.
      await new Promise((resolve) => setTimeout(resolve, Number(refused[0]?.headers.get('retry-after') ?? 1) * 1000));
      expect((await call(NOISY)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe('per-org token bucket', () => {
  it('allows a burst, then the sustained rate, and names the wait', () => {
    let t = 0;
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 3, now: () => t });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([undefined, undefined, undefined]);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBeUndefined();
    t = 500;
    expect(limiter.take('a')).toBeUndefined();
    expect(limiter.take('a')).toBe(1);
  });

  it('reads API_RATE_LIMIT_PER_ORG, refusing nonsense', () => {
    expect(loadConfigPart('http', {}).rateLimitPerOrg).toBe(200);
    expect(loadConfigPart('http', { API_RATE_LIMIT_PER_ORG: '50' }).rateLimitPerOrg).toBe(50);
    for (const bad of ['0', '-1', '1.5', 'many', '1000000']) expect(() => loadConfigPart('http', { API_RATE_LIMIT_PER_ORG: bad }).rateLimitPerOrg, bad).toThrow(/API_RATE_LIMIT_PER_ORG/);
  });
});
