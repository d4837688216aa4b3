import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GpgHome } from '../local/gpg.js';
import { decryptStream } from '../shared/pgp/decrypt-stream.js';
import { generateKeyPair } from '../shared/pgp/generate-key-pair.js';
import { encryptCsvFile, gpgArgs, runGpg } from './gpg-files.js';
import { MB, MIB, best, rounded, timed, type Timing } from './measure.js';
import { figure, type Figure } from './report.js';

export interface PgpDecryptOptions {
  readonly size: number;
  readonly repetitions: number;
  readonly log: (line: string) => void;
}

const PASSPHRASE = 'benchmark passphrase';
const RECIPIENT = 'bench@example.com';

/**
 * Read size of our side's file stream (Node's default is 64 KiB). A file stream has one read in
 * flight, and Node handles its completion only when the promise jobs of OpenPGP.js's stream chain
 * have run out, so 64 KiB reads made 4,096 waits that decryption could not overlap (a sixth or
 * more of our wall time on 256 MiB, and more CPU than 256 reads of 1 MiB). The landing blob is a
 * socket stream, which hands over everything buffered at each such turn: this measures our
 * decryption, not Node's file stream defaults.
 */
const FILE_READ_BYTES = 1024 * 1024;

/** Reads a stream to its end, discarding it. */
export function drain(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

/**
 * The ceiling of any OpenPGP.js decryption of an uncompressed SEIPDv1 file on this machine: Node's
 * (OpenSSL's) AES-256-CFB decryption and the MDC's SHA-1 over the same bytes, alone, on one
 * thread, best of 3. Both steps run serially per byte, so together they cannot beat
 * 1 / (1/cfb + 1/sha1).
 */
function primitiveCeiling(size: number): { cfbMBps: number; sha1MBps: number; serialMBps: number } {
  const block = randomBytes(MIB);
  const pass = (step: (chunk: Buffer) => void): number => {
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      for (let done = 0; done < size; done += MIB) step(block);
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return best;
  };
  const decipher = createDecipheriv('aes-256-cfb', randomBytes(32), Buffer.alloc(16));
  const cfbSeconds = pass((chunk) => decipher.update(chunk));
  const hash = createHash('sha1');
  const sha1Seconds = pass((chunk) => hash.update(chunk));
  const mb = size / MB;
  return { cfbMBps: mb / cfbSeconds, sha1MBps: mb / sha1Seconds, serialMBps: mb / (cfbSeconds + sha1Seconds) };
}

/**
 * Figure 1: our streaming decryption vs `gpg --decrypt` on the same files, alternating, best of
 * `repetitions` each. Both read the file from disk and discard the plaintext; both unlock the
 * passphrase-protected Curve25519 key (gpg's agent caches it after the first run, ours unlocks it
 * every time, as ingestion does).
 */
export async function pgpDecryptFigures(options: PgpDecryptOptions): Promise<Figure[]> {
  const home = await GpgHome.create();
  try {
    const key = await generateKeyPair({ name: 'bench', email: RECIPIENT, passphrase: PASSPHRASE });
    await home.importKey(key.publicKeyArmored);
    await runGpg(gpgArgs(home, PASSPHRASE, ['--import']), Readable.from([key.privateKeyArmored]));

    const cases = [
      { id: '1a', compression: 'none' as const, label: '`--compress-algo none`', bound: 1.0 },
      // Our keys list "uncompressed" first in their preferences, so gpg would not compress to
      // them by default; ZLIB is gpg's default algorithm (and level 6 its default level).
      { id: '1b', compression: 'zlib' as const, label: 'gpg default compression (ZLIB)', bound: 0.8 },
    ];
    // gpg's wall time includes gpg-agent round trips whatever the file size: measured on a 1 KiB
    // file so that a reader of the figure can tell that fixed cost from decryption.
    const tiny = await encryptCsvFile(home, RECIPIENT, 1024, 'none', 'bench-tiny.csv.gpg');
    const fixed: Timing[] = [];
    for (let i = 0; i < 3; i++) {
      fixed.push(await timed(() => runGpg(gpgArgs(home, PASSPHRASE, ['--decrypt', '--output', '/dev/null', tiny]))));
    }
    const gpgFixedSeconds = best(fixed).wallSeconds;
    const ceiling = primitiveCeiling(options.size);
    const figures: Figure[] = [];
    for (const c of cases) {
      const file = await encryptCsvFile(home, RECIPIENT, options.size, c.compression, `bench-${c.compression}.csv.gpg`);
      const fileBytes = (await stat(file)).size;
      // Starts gpg-agent and caches the unlocked key, so gpg's timed runs measure decryption.
      await runGpg(gpgArgs(home, PASSPHRASE, ['--decrypt', '--output', '/dev/null', file]));
      const ours: Timing[] = [];
      const gpg: Timing[] = [];
      for (let i = 0; i < options.repetitions; i++) {
        ours.push(
          await timed(async () => {
            const { plaintext, result } = await decryptStream(
              createReadStream(file, { highWaterMark: FILE_READ_BYTES }),
              {
                privateKeyArmored: key.privateKeyArmored,
                passphrase: PASSPHRASE,
              },
            );
            await pipeline(plaintext, drain());
            const { bytes } = await result;
            if (bytes !== options.size) throw new Error(`decrypted ${bytes} bytes, expected ${options.size}`);
          }),
        );
        gpg.push(await timed(() => runGpg(gpgArgs(home, PASSPHRASE, ['--decrypt', '--output', '/dev/null', file]))));
      }
      const o = best(ours);
      const g = best(gpg);
      options.log(
        `  ${c.id}: ours ${(options.size / MB / o.wallSeconds).toFixed(0)} MB/s (${o.cpuSeconds.toFixed(2)} s CPU), gpg ${(options.size / MB / g.wallSeconds).toFixed(0)} MB/s (${g.childCpuSeconds.toFixed(2)} s CPU)`,
      );
      figures.push(
        figure({
          id: c.id,
          name: `PGP decrypt, ${options.size / MIB} MiB CSV, ${c.label}`,
          value: options.size / MB / o.wallSeconds,
          unit: 'MB/s',
          reference: { name: 'gpg --decrypt', value: options.size / MB / g.wallSeconds, unit: 'MB/s' },
          target: { compare: 'ratio', op: '>=', bound: c.bound },
          // CPU time says more than wall time on a busy machine.
          note: `CPU: ours ${o.cpuSeconds.toFixed(2)} s, gpg ${g.childCpuSeconds.toFixed(2)} s; wall: ours ${o.wallSeconds.toFixed(2)} s, gpg ${g.wallSeconds.toFixed(2)} s (of which ${gpgFixedSeconds.toFixed(2)} s fixed, as on a 1 KiB file)${
            c.compression === 'none'
              ? `; Node's AES-256-CFB alone ${ceiling.cfbMBps.toFixed(0)} MB/s, with SHA-1 ${ceiling.serialMBps.toFixed(0)} MB/s (our ceiling)`
              : ''
          }`,
          details: rounded({
            plaintextBytes: options.size,
            ciphertextBytes: fileBytes,
            ...(c.compression === 'none' ? { primitiveCeiling: ceiling } : {}),
            ours: { best: o, runs: ours, cpuMBps: options.size / MB / o.cpuSeconds },
            gpg: {
              best: g,
              runs: gpg,
              cpuMBps: options.size / MB / g.childCpuSeconds,
              fixedWallSeconds: gpgFixedSeconds,
            },
          }),
        }),
      );
    }
    return figures;
  } finally {
    await home.dispose();
  }
}
