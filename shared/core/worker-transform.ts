import { ReadableStream } from 'node:stream/web';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** What a failed transform reports across the thread boundary: its message and plain fields. */
export type TransformFailureData = Readonly<Record<string, string | number>>;

/** Parent → worker. */
export type ToTransform =
  | { readonly type: 'start'; readonly init: unknown }
  | { readonly type: 'input'; readonly chunk: Uint8Array }
  | { readonly type: 'end' }
  | { readonly type: 'pull' };

/** Worker → parent. */
export type FromTransform =
  | { readonly type: 'need' }
  | { readonly type: 'output'; readonly chunk: Uint8Array }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string; readonly data: TransformFailureData };

/** A bound on transforms running at once; more wait for one to end. */
export interface Slots {
  acquire(): Promise<void>;
  release(): void;
  /** Transforms running now, waiting now, and started so far. */
  stats(): { readonly running: number; readonly waiting: number; readonly started: number };
}

export function createSlots(max: number): Slots {
  let running = 0;
  let started = 0;
  const waiting: (() => void)[] = [];
  return {
    async acquire() {
      if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
      running += 1;
      started += 1;
    },
    release() {
      running -= 1;
      waiting.shift()?.();
    },
    stats: () => ({ running, waiting: waiting.length, started }),
  };
}

export interface WorkerTransformOptions {
  /** The worker's module; it calls {@link serveTransform}. */
  readonly script: URL;
  /** Passed to the worker's transform as it starts (structured-cloned). */
  readonly init: unknown;
  readonly slots: Slots;
  readonly resourceLimits?: ResourceLimits;
}

/**
 * Runs a byte-stream transform in a worker thread of its own, for CPU-heavy steps that cannot
 * yield (a bzip2 block decodes in one go): the thread that serves HTTP only copies bytes across.
 * Back pressure holds both ways: input is read only when the worker's transform asks for more,
 * and one output chunk is produced per read. A failure in the worker errors the output with an
 * `Error` carrying the worker's message and fields; cancelling the output ends the worker and
 * cancels the input.
 */
export function transformInWorker(input: ReadableStream<Uint8Array>, options: WorkerTransformOptions): ReadableStream<Uint8Array> {
  let worker: Worker | undefined;
  let inputReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let answer: ((message: FromTransform | Error) => void) | undefined;
  let holdsSlot = false;
  let finished = false;

  const finish = (): void => {
    if (finished) return;
    finished = true;
    if (worker !== undefined) void worker.terminate();
    if (holdsSlot) options.slots.release();
  };

  const feed = async (w: Worker, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> => {
    try {
      const { done, value } = await reader.read();
      const message: ToTransform = done ? { type: 'end' } : { type: 'input', chunk: value };
      w.postMessage(message);
    } catch (err) {
      answer?.(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const start = async (): Promise<Worker> => {
    await options.slots.acquire();
    holdsSlot = true;
    if (finished) throw new Error('the transform was cancelled');
    const reader = input.getReader();
    inputReader = reader;
    const w = new Worker(options.script, {
      // The worker needs no settings, and secrets in them stay out of it.
      env: {},
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    w.on('message', (message: FromTransform) => {
      if (message.type === 'need') void feed(w, reader);
      else answer?.(message);
    });
    w.on('error', (err) => answer?.(err));
    w.on('exit', (code) => answer?.(new Error(`the transform worker exited with code ${code}`)));
    const begin: ToTransform = { type: 'start', init: options.init };
    w.postMessage(begin);
    return w;
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          worker ??= await start();
        } catch (err) {
          finish();
          throw err;
        }
        const w = worker;
        const message = await new Promise<FromTransform | Error>((resolve) => {
          answer = resolve;
          const pull: ToTransform = { type: 'pull' };
          w.postMessage(pull);
        });
        answer = undefined;
        if (message instanceof Error) {
          finish();
          controller.error(message);
        } else if (message.type === 'output') controller.enqueue(message.chunk);
        else if (message.type === 'done') {
          finish();
          controller.close();
        } else if (message.type === 'error') {
          finish();
          controller.error(Object.assign(new Error(message.message), message.data));
        }
      },
      async cancel(reason) {
        finish();
        await inputReader?.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The worker side of {@link transformInWorker}: `transform` gets the input as a stream the parent
 * feeds on demand and the `init` it was started with. A failure is reported by its message and
 * whatever `describe` takes from it (plain fields: a stable code, counts), never its stack.
 */
export function serveTransform(
  port: { on(event: 'message', listener: (message: ToTransform) => void): unknown; postMessage(message: FromTransform, transfer?: ArrayBuffer[]): void },
  transform: (input: ReadableStream<Uint8Array>, init: unknown) => ReadableStream<Uint8Array>,
  describe: (err: unknown) => TransformFailureData,
): void {
  let feed: ((message: ToTransform) => void) | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const input = new ReadableStream<Uint8Array>(
    {
      pull: (controller) =>
        new Promise<void>((resolve) => {
          feed = (message) => {
            if (message.type === 'input') controller.enqueue(message.chunk);
            else controller.close();
            resolve();
          };
          port.postMessage({ type: 'need' });
        }),
    },
    { highWaterMark: 0 },
  );

  const pull = async (): Promise<void> => {
    try {
      if (reader === undefined) throw new Error('pull before start');
      const { done, value } = await reader.read();
      if (done) port.postMessage({ type: 'done' });
      else {
        // The transform may reuse its buffer: send a copy the parent then owns.
        const chunk = value.slice();
        port.postMessage({ type: 'output', chunk }, [chunk.buffer]);
      }
    } catch (err) {
      port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err), data: describe(err) });
    }
  };

  port.on('message', (message) => {
    switch (message.type) {
      case 'start':
        try {
          reader = transform(input, message.init).getReader();
        } catch (err) {
          port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err), data: describe(err) });
        }
        return;
      case 'input':
      case 'end':
        feed?.(message);
        return;
      case 'pull':
        void pull();
        return;
    }
  });
}
