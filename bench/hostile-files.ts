import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createMessage, encrypt, readKey } from 'openpgp';
import type { Run } from '../local/api-client.js';
import { GpgHome, ensureGpg } from '../local/gpg.js';
import { startRuntime } from '../local/runtime-process.js';
import { startLocalStack } from '../local/stack.js';
import { MAX_PKESK_PER_MESSAGE, PGP_CONFIG } from '../shared/pgp/config.js';
import { createIngestionFlow, type IngestionFlow } from './ingestion-flow.js';
import { MIB, rounded } from './measure.js';
import { figure, type Figure } from './report.js';

export interface HostileFilesOptions {
  /** Seconds of `/health` probing of the quiet runtime. */
  readonly quietSeconds: number;
  /** Files of each hostile kind landed at once. */
  readonly files: number;
  /** Zeros inside the bzip2 bomb (1 GiB in the full run). */
  readonly bombBytes: number;
  readonly log: (line: string) => void;
}

const ORG = 'BENCHHOSTILE@AdobeOrg';
const QUEUE_MAX_POLL_MS = 200;
const SETTLE_MS = 3000;

/**
 * Figures 6a and 6b: `/health` latency (p99, one client probing back to back) while hostile files
 * are ingested, beside the same runtime's p99 while quiet, in the same run. The flow's key is
 * RSA-4096, the case where OpenPGP.js decrypts session keys in pure-JS BigInt:
 * - 6a, a session key packet flood: files with the most hidden-recipient packets that are tried
 *   (MAX_PKESK_PER_MESSAGE, each an RSA private-key operation) and files with 100 (refused);
 * - 6b, bzip2 bombs: gpg `--compress-algo bzip2` of `bombBytes` zeros (a few KiB), refused with
 *   COMPRESSION_RATIO_EXCEEDED.
 */
export async function hostileFilesFigures(options: HostileFilesOptions): Promise<Figure[]> {
  ensureGpg();
  const stack = await startLocalStack();
  const home = await GpgHome.create();
  try {
    const runtime = await startRuntime({ ...stack.env, CIPHERFLOW_QUEUE_MAX_POLL_MS: String(QUEUE_MAX_POLL_MS) });
    try {
      const flow = await createIngestionFlow(runtime.url, ORG, home, 'hostile', 'RSA');
      const key = await readKey({ armoredKey: flow.publicKeyArmored });
      const flood = async (packets: number): Promise<Buffer> => {
        // openpgp's declared return type does not survive typescript-eslint: narrow it here.
        const bytes: unknown = await encrypt({
          message: await createMessage({ binary: new TextEncoder().encode('id,name\n1,a\n') }),
          encryptionKeys: Array.from({ length: packets }, () => key),
          wildcard: true,
          format: 'binary',
          config: PGP_CONFIG,
        });
        if (!(bytes instanceof Uint8Array)) throw new Error('openpgp returned no bytes');
        return Buffer.from(bytes);
      };
      const atLimit = await flood(MAX_PKESK_PER_MESSAGE);
      const hundred = await flood(100);
      const bomb = await readFile(
        await home.encryptToFile(zeros(options.bombBytes), flow.recipient, 'bomb.csv.gpg', ['--compress-algo', 'bzip2', '-z', '9']),
      );
      options.log(`  files: ${MAX_PKESK_PER_MESSAGE} packets ${atLimit.length} B, 100 packets ${hundred.length} B, bzip2 bomb ${bomb.length} B of ${options.bombBytes / MIB} MiB zeros`);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

      const health = `${runtime.url}/health`;
      const quiet = await probeWhile(health, sleep(options.quietSeconds * 1000));
      options.log(`  quiet: ${summary(quiet.samples)}`);

      const floodFiles = Array.from({ length: options.files }, (_, i) => [
        { name: `hostile/flood-${i}.csv.gpg`, bytes: atLimit, expect: 'success' },
        { name: `hostile/hundred-${i}.csv.gpg`, bytes: hundred, expect: 'TOO_MANY_RECIPIENTS' },
      ]).flat();
      const floodWindow = await probeWhile(health, land(flow, floodFiles));
      options.log(`  session key flood: ${summary(floodWindow.samples)} over ${floodWindow.seconds.toFixed(1)} s`);

      const bombFiles = Array.from({ length: options.files }, (_, i) => ({ name: `hostile/bomb-${i}.csv.gpg`, bytes: bomb, expect: 'COMPRESSION_RATIO_EXCEEDED' }));
      const bombWindow = await probeWhile(health, land(flow, bombFiles));
      options.log(`  bzip2 bombs: ${summary(bombWindow.samples)} over ${bombWindow.seconds.toFixed(1)} s`);

      const quietP99 = percentile(quiet.samples, 0.99);
      const reference = { name: 'quiet runtime p99', value: quietP99, unit: 'ms' };
      const target = { compare: 'ratio', op: '<=', bound: 2 } as const;
      return [
        figure({
          id: '6a',
          name: `/health p99 while ${options.files * 2} session-key floods are ingested (RSA-4096 flow key)`,
          value: percentile(floodWindow.samples, 0.99),
          unit: 'ms',
          reference,
          target,
          note: `${options.files} files of ${MAX_PKESK_PER_MESSAGE} hidden-recipient packets (decrypted) and ${options.files} of 100 (TOO_MANY_RECIPIENTS); ${floodWindow.samples.length} probes; max ${num(Math.max(...floodWindow.samples))} ms`,
          details: rounded({ quiet: stats(quiet.samples), during: stats(floodWindow.samples), seconds: floodWindow.seconds }),
        }),
        figure({
          id: '6b',
          name: `/health p99 while ${options.files} bzip2 bombs are ingested`,
          value: percentile(bombWindow.samples, 0.99),
          unit: 'ms',
          reference,
          target,
          note: `${bomb.length} B each, ${options.bombBytes / MIB} MiB of zeros (COMPRESSION_RATIO_EXCEEDED); ${bombWindow.samples.length} probes; max ${num(Math.max(...bombWindow.samples))} ms`,
          details: rounded({ quiet: stats(quiet.samples), during: stats(bombWindow.samples), seconds: bombWindow.seconds }),
        }),
      ];
    } finally {
      await runtime.stop();
    }
  } finally {
    await home.dispose();
    await stack.stop();
  }
}

interface Landing {
  readonly name: string;
  readonly bytes: Buffer;
  /** `success`, or the run error code the file must fail with. */
  readonly expect: string;
}

/** Lands every file at once and settles once each has a finished run with the expected outcome. */
async function land(flow: IngestionFlow, files: readonly Landing[]): Promise<void> {
  await Promise.all(files.map((f) => flow.zone.getBlockBlobClient(f.name).uploadData(f.bytes)));
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { items } = await flow.api.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flow.flowId}`);
    const finished = files.map((f) => items.find((r) => r.fileName === f.name && r.status !== 'inProgress'));
    if (finished.every((r) => r !== undefined)) {
      files.forEach((f, i) => {
        const run = finished[i];
        const outcome = run?.status === 'success' ? 'success' : run?.errors[0]?.code;
        if (outcome !== f.expect) throw new Error(`${f.name}: expected ${f.expect}, got ${outcome ?? 'nothing'}`);
      });
      return;
    }
    if (Date.now() > deadline) throw new Error('hostile files were not all processed within 300 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Calls `url` back to back (one client, keep-alive) until `work` settles; latencies in ms. */
async function probeWhile(url: string, work: Promise<void>): Promise<{ samples: number[]; seconds: number }> {
  let done = false;
  const settled = work.finally(() => (done = true));
  settled.catch(() => undefined);
  const samples: number[] = [];
  const t0 = performance.now();
  while (!done) {
    const start = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
    samples.push(performance.now() - start);
  }
  await settled;
  return { samples, seconds: (performance.now() - t0) / 1000 };
}

function zeros(bytes: number): Readable {
  const chunk = Buffer.alloc(MIB);
  return Readable.from(
    (function* () {
      for (let left = bytes; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    })(),
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function stats(samples: readonly number[]) {
  return { probes: samples.length, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), max: Math.max(...samples) };
}

const num = (v: number) => v.toFixed(1);
const summary = (samples: readonly number[]) => {
  const s = stats(samples);
  return `${s.probes} probes, p50 ${num(s.p50)} ms, p99 ${num(s.p99)} ms, max ${num(s.max)} ms`;
};
