import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { apiHeaders } from '../local/api-client.js';
import { repoRoot, startRuntime } from '../local/runtime-process.js';
import { startLocalStack } from '../local/stack.js';
import { generateClientKeyPair, type ServerKeyInfo } from '../shared/hpke/client.js';
import type { LoadConfig, LoadResult } from './load-generator.js';
import { rounded } from './measure.js';
import { figure, type Figure } from './report.js';

export interface HpkeLoadOptions {
  /** Seconds per timed window. */
  readonly seconds: number;
  /** Alternating plaintext/encrypted windows. */
  readonly rounds: number;
  readonly log: (line: string) => void;
}

const ORG = 'BENCHHPKE@AdobeOrg';
const PATH = '/data/foundation/catalog/dataSets';
const CONCURRENCY = 16;
/** Time a generator gets beyond its window (preparing encrypted requests, starting up). */
const GENERATOR_GRACE_SECONDS = 60;
const ATTEMPTS = 2;

/** CPU seconds a process has used so far (`/proc/<pid>/stat` utime + stime, at 100 ticks/s). */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return ((fields[11] ?? 0) + (fields[12] ?? 0)) / 100;
}

interface Window extends LoadResult {
  readonly mode: LoadConfig['mode'];
  readonly perSecond: number;
  /** Runtime CPU milliseconds per request during the window. */
  readonly runtimeCpuMsPerRequest: number;
}

/** Runs a window, once more if the generator fails to report. */
async function generate(config: LoadConfig, runtimePid: number): Promise<Window> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await generateOnce(config, runtimePid);
    } catch (err) {
      if (attempt >= ATTEMPTS) throw err;
    }
  }
}

/** Runs the load generator once and watches the runtime's CPU during its timed window. */
function generateOnce(config: LoadConfig, runtimePid: number): Promise<Window> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'dist', 'bench', 'load-generator.js'), JSON.stringify(config)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let cpuAtStart = 0;
    let result: LoadResult | undefined;
    if (child.stdout === null) throw new Error('no stdout');
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { readonly event: string };
      if (message.event === 'start') cpuAtStart = processCpuSeconds(runtimePid);
      if (message.event === 'done') {
        const cpu = processCpuSeconds(runtimePid) - cpuAtStart;
        result = message as LoadResult;
        const requests = result.ok + result.failed;
        resolve({
          ...result,
          mode: config.mode,
          perSecond: result.ok / result.seconds,
          runtimeCpuMsPerRequest: requests === 0 ? Number.NaN : (1000 * cpu) / requests,
        });
      }
    });
    // A generator that never reports (seen twice: a child parked in a futex wait before its first
    // request, on a loaded machine) is killed, and the window run again by the caller.
    const deadline = setTimeout(() => child.kill('SIGKILL'), (config.seconds + GENERATOR_GRACE_SECONDS) * 1000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (result === undefined) reject(new Error(`load generator exited (${code ?? signal}) without a result`));
    });
  });
}

/**
 * Figure 4c: requests per second on `POST /data/foundation/catalog/dataSets` (a real endpoint:
 * token check, validation, one Azurite table write), HPKE-encrypted request and response vs
 * plaintext JSON, from a load generator in a second process on loopback, in alternating windows.
 */
export async function hpkeLoadFigure(options: HpkeLoadOptions): Promise<Figure> {
  const stack = await startLocalStack();
  const runtime = await startRuntime(stack.env);
  try {
    const pid = runtime.child.pid ?? 0;
    const { keys } = (await (await fetch(`${runtime.url}/api-encryption/keys`)).json()) as { keys: ServerKeyInfo[] };
    const serverKey = keys.find((k) => k.status === 'active');
    if (serverKey === undefined) throw new Error('no active HPKE server key');
    const clientKey = await generateClientKeyPair(1);
    const put = await fetch(`${runtime.url}/api-encryption/client-keys/1`, {
      method: 'PUT',
      headers: await apiHeaders(ORG, undefined, { 'content-type': 'application/json' }),
      body: JSON.stringify({
        kemId: clientKey.kemId,
        publicKey: Buffer.from(clientKey.publicKey).toString('base64url'),
      }),
    });
    if (put.status !== 201) throw new Error(`client key registration failed: ${put.status} ${await put.text()}`);
    const base = { url: `${runtime.url}${PATH}`, headers: await apiHeaders(ORG), concurrency: CONCURRENCY, serverKey };

    // Warm-up: JIT, connection pools, table creation, caches of both paths.
    const warm = await generate({ ...base, mode: 'plain', seconds: 1, count: 0 }, pid);
    await generate({ ...base, mode: 'hpke', seconds: 1, count: Math.ceil(warm.perSecond * 2) + 100 }, pid);

    const windows: Window[] = [];
    for (let r = 0; r < options.rounds; r++) {
      const plain = await generate({ ...base, mode: 'plain', seconds: options.seconds, count: 0 }, pid);
      const hpke = await generate(
        {
          ...base,
          mode: 'hpke',
          seconds: options.seconds,
          count: Math.ceil(plain.perSecond * options.seconds * 1.5) + 200,
        },
        pid,
      );
      options.log(
        `  round ${r + 1}: plaintext ${plain.perSecond.toFixed(0)} req/s (${plain.runtimeCpuMsPerRequest.toFixed(2)} ms CPU/req), encrypted ${hpke.perSecond.toFixed(0)} req/s (${hpke.runtimeCpuMsPerRequest.toFixed(2)} ms CPU/req)`,
      );
      windows.push(plain, hpke);
    }
    const rate = (mode: LoadConfig['mode']): number => {
      const ws = windows.filter((w) => w.mode === mode);
      return ws.reduce((a, w) => a + w.ok, 0) / ws.reduce((a, w) => a + w.seconds, 0);
    };
    const cpu = (mode: LoadConfig['mode']): number => {
      const ws = windows.filter((w) => w.mode === mode);
      return ws.reduce((a, w) => a + w.runtimeCpuMsPerRequest, 0) / ws.length;
    };
    const failures = windows.reduce((a, w) => a + w.failed, 0);
    return figure({
      id: '4c',
      name: `Encrypted vs plaintext requests under load, POST dataSets, ${CONCURRENCY} connections from a second process`,
      value: rate('hpke'),
      unit: 'req/s',
      reference: { name: 'plaintext JSON, same endpoint', value: rate('plain'), unit: 'req/s' },
      target: { compare: 'ratio', op: '>=', bound: 0.9 },
      note: `runtime CPU ${cpu('hpke').toFixed(2)} vs ${cpu('plain').toFixed(2)} ms/request${failures > 0 ? `; ${failures} failed requests` : ''}`,
      details: rounded({ concurrency: CONCURRENCY, windowSeconds: options.seconds, windows }),
    });
  } finally {
    await runtime.stop();
    await stack.stop();
  }
}
