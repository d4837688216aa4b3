import { ReadableStream } from 'node:stream/web';
import { parentPort } from 'node:worker_threads';
import { lowerThreadPriority } from '../../core/worker-priority.js';
import { serveTransform } from '../../core/worker-transform.js';
import { bunzip2, outputLimits, type Bunzip2Init } from '../decompress.js';
import { RunFailure } from '../run-failure.js';

// A flow's `compressionType: bzip2` inflate (`decompress.ts`), off the thread that serves HTTP.

if (parentPort === null) throw new Error('bunzip2-worker.ts runs only as a worker thread');
lowerThreadPriority();

serveTransform(
  parentPort,
  (input, init) => {
    const { maxBytes, maxRatio } = init as Bunzip2Init;
    return ReadableStream.from(bunzip2(input, outputLimits(maxBytes, maxRatio)));
  },
  (err) => {
    // The run code, and the ratio error's counts (internal logs; tests read how far a bomb got).
    if (!(err instanceof RunFailure)) return {};
    const data: Record<string, string | number> = { code: err.code };
    for (const name of ['decompressedBytes', 'compressedBytes']) {
      const value: unknown = err.cause instanceof Error ? Reflect.get(err.cause, name) : undefined;
      if (typeof value === 'number') data[name] = value;
    }
    return data;
  },
);
