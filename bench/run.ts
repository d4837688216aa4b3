/**
 * `npm run bench [-- --quick] [-- --only=1,4]`: measures each figure of the performance issue
 * side by side with its reference, in one run, and writes `bench/results.json` and
 * `bench/results.md`. Full: ~6 minutes on 2 cores; `--quick` (smaller files, shorter windows): ~2.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../local/runtime-process.js';
import { hostileFilesFigures } from './hostile-files.js';
import { hpkeLoadFigure } from './hpke-load.js';
import { hpkeOperationFigures } from './hpke-operations.js';
import { ingestionFigures } from './ingestion.js';
import { machineInfo } from './machine.js';
import { MIB } from './measure.js';
import { pgpDecryptFigures } from './pgp-decrypt.js';
import { failedFigure, markdown, type Figure, type Results } from './report.js';
import { vaultCallsFigure } from './vault-calls.js';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const SIZES = quick
  ? {
      pgp: 32 * MIB,
      pgpRepetitions: 2,
      ingestSmall: 8 * MIB,
      ingestLarge: 32 * MIB,
      hpkeSeconds: 0.5,
      loadSeconds: 3,
      loadRounds: 1,
      vaultFiles: 100,
      hostileQuietSeconds: 3,
      hostileFiles: 2,
      bombBytes: 256 * MIB,
    }
  : {
      pgp: 256 * MIB,
      pgpRepetitions: 3,
      ingestSmall: 64 * MIB,
      ingestLarge: 1024 * MIB,
      hpkeSeconds: 3,
      loadSeconds: 8,
      loadRounds: 3,
      vaultFiles: 100,
      hostileQuietSeconds: 10,
      hostileFiles: 4,
      bombBytes: 1024 * MIB,
    };

const groups: { readonly id: string; readonly title: string; readonly run: () => Promise<Figure[]> }[] = [
  {
    id: '1',
    title: 'PGP decryption throughput vs gpg',
    run: () => pgpDecryptFigures({ size: SIZES.pgp, repetitions: SIZES.pgpRepetitions, log }),
  },
  {
    id: '4',
    title: 'HPKE operations per second',
    run: () => hpkeOperationFigures({ seconds: SIZES.hpkeSeconds, log }),
  },
  {
    id: '2',
    title: 'Ingestion memory and throughput',
    run: () => ingestionFigures({ smallSize: SIZES.ingestSmall, largeSize: SIZES.ingestLarge, log }),
  },
  {
    id: '4c',
    title: 'HPKE under load (encrypted vs plaintext)',
    run: async () => [await hpkeLoadFigure({ seconds: SIZES.loadSeconds, rounds: SIZES.loadRounds, log })],
  },
  {
    id: '5',
    title: 'Key Vault calls per ingested file',
    run: async () => [await vaultCallsFigure({ files: SIZES.vaultFiles, log })],
  },
  {
    id: '6',
    title: '/health latency while hostile files are ingested',
    run: () =>
      hostileFilesFigures({ quietSeconds: SIZES.hostileQuietSeconds, files: SIZES.hostileFiles, bombBytes: SIZES.bombBytes, log }),
  },
];

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = machineInfo();
  log(
    `cipherflow benchmarks (${quick ? 'quick' : 'full'}): ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverage.start.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const figures: Figure[] = [];
  let failed = false;
  for (const group of groups) {
    if (only !== undefined && !only.includes(group.id)) continue;
    const t0 = Date.now();
    log(`[${group.id}] ${group.title}`);
    try {
      figures.push(...(await group.run()));
    } catch (err) {
      failed = true;
      figures.push(failedFigure(group.id, `${group.title} (failed)`, '', undefined, err));
      log(`[${group.id}] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
    log(
      `[${group.id}] ${((Date.now() - t0) / 1000).toFixed(1)} s, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  }
  figures.sort((a, b) => a.id.localeCompare(b.id));
  const results: Results = {
    mode: quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: { ...machine, loadAverage: { start: machine.loadAverage.start, end: os.loadavg() } },
    figures,
  };
  const table = markdown(results);
  await writeFile(path.join(repoRoot, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
  await writeFile(path.join(repoRoot, 'bench', 'results.md'), table);
  log('');
  log(table);
  if (failed) process.exitCode = 1;
}

await main();
