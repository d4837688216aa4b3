import { parentPort } from 'node:worker_threads';
import { lowerThreadPriority } from '../../core/worker-priority.js';
import type { ReadableStream } from 'node:stream/web';
import * as openpgp from 'openpgp';
import { serveTransform } from '../../core/worker-transform.js';
import type { Bzip2Limits } from '../bzip2-inflate.js';

// One BZip2 Compressed Data packet's inflate (`bzip2-inflate.ts`), off the thread that serves
// HTTP: OpenPGP.js's own inflater, with the ratio and size limits of our patch.

if (parentPort === null) throw new Error('bzip2-worker.ts runs only as a worker thread');
lowerThreadPriority();

const inflater: unknown = Reflect.get(openpgp, 'cipherflowUnbzip2Stream');
if (typeof inflater !== 'function') throw new Error('openpgp lacks the patched bzip2 inflater (patches/openpgp+6.3.2.patch)');
const unbzip2 = inflater as (input: ReadableStream<Uint8Array>, limits: Bzip2Limits) => ReadableStream<Uint8Array>;

serveTransform(parentPort, (input, init) => unbzip2(input, init as Bzip2Limits), (err) => {
  // The counts of the patch's ratio error; nothing else crosses.
  const data: Record<string, number> = {};
  for (const name of ['decompressedBytes', 'compressedBytes']) {
    const value: unknown = err instanceof Error ? Reflect.get(err, name) : undefined;
    if (typeof value === 'number') data[name] = value;
  }
  return data;
});
