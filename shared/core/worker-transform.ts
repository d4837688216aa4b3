import { ReadableStream } from 'node:stream/web';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/** What a failed transform reports across the thread boundary: its message and plain fields. */
export type TransformFailureData = Readonly<Record<string, string | number>>;

/** Parent → worker; `id` names one transform (a worker runs several, one after another). */
export type ToTransform =
  | { readonly type: 'start'; readonly id: number; readonly init: unknown }
  | { readonly type: 'input'; readonly id: number; readonly chunk: Uint8Array }
  | { readonly type: 'end'; readonly id: number }
  | { readonly type: 'pull'; readonly id: number };

/** Worker → parent. */
export type FromTransform =
  | { readonly type: 'need'; readonly id: number }
  | { readonly type: 'output'; readonly id: number; readonly chunk: Uint8Array }
  | { readonly type: 'done'; readonly id: number }
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly data: TransformFailureData };

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

/** A worker between transforms, and what its current transform listens to. */
interface TransformWorker {
  readonly worker: Worker;
  /** Receives the current transform's messages and the worker's failure. */
  listener?: ((message: FromTransform | Error) => void) | undefined;
  idleTimer?: NodeJS.Timeout | undefined;
}

/** A worker idle this long between transforms exits. */
const IDLE_MS = 60_000;
const idleWorkers = new Map<string, TransformWorker[]>();
let nextTransformId = 1;
let spawned = 0;

/** Transform workers started so far, and those idle now (waiting for the next transform). */
export function transformWorkerStats(): { readonly spawned: number; readonly idle: number } {
  return { spawned, idle: [...idleWorkers.values()].reduce((n, list) => n + list.length, 0) };
}

function takeWorker(options: WorkerTransformOptions): TransformWorker {
  const idle = idleWorkers.get(options.script.href)?.pop();
  if (idle !== undefined) {
    clearTimeout(idle.idleTimer);
    idle.worker.ref();
    return idle;
  }
  spawned += 1;
  const worker = new Worker(options.script, {
    // The worker needs no settings, and secrets in them stay out of it.
    env: {},
    ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
  });
  const entry: TransformWorker = { worker };
  worker.on('message', (message: FromTransform) => entry.listener?.(message));
  worker.on('error', (err) => entry.listener?.(err));
  worker.on('exit', (code) => {
    dropIdle(options.script.href, entry);
    entry.listener?.(new Error(`the transform worker exited with code ${code}`));
  });
  return entry;
}

function dropIdle(key: string, entry: TransformWorker): void {
  const list = idleWorkers.get(key);
  const at = list?.indexOf(entry) ?? -1;
  if (list !== undefined && at >= 0) list.splice(at, 1);
}

/** Keeps a worker whose transform ended cleanly for the next one (its module is loaded already). */
function returnWorker(options: WorkerTransformOptions, entry: TransformWorker): void {
  entry.listener = undefined;
  entry.worker.unref();
  const key = options.script.href;
  idleWorkers.set(key, [...(idleWorkers.get(key) ?? []), entry]);
  entry.idleTimer = setTimeout(() => {
    dropIdle(key, entry);
    void entry.worker.terminate();
  }, IDLE_MS);
  entry.idleTimer.unref();
}

/**
 * Runs a byte-stream transform in a worker thread, for CPU-heavy steps that cannot yield (a bzip2
 * block decodes in one go): the thread that serves HTTP only copies bytes across. Back pressure
 * holds both ways: input is read only when the worker's transform asks for more, and one output
 * chunk is produced per read. A failure in the worker errors the output with an `Error` carrying
 * the worker's message and fields. A worker whose transform ended (done or failed) serves the
 * next one; one whose output was cancelled mid-way is ended, and the input is cancelled.
 */
export function transformInWorker(input: ReadableStream<Uint8Array>, options: WorkerTransformOptions): ReadableStream<Uint8Array> {
  const id = nextTransformId++;
  let entry: TransformWorker | undefined;
  let inputReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let answer: ((message: FromTransform | Error) => void) | undefined;
  let holdsSlot = false;
  let finished = false;

  /** `reusable`: the worker reported the transform's end itself, so it is ready for another. */
  const finish = (reusable: boolean): void => {
    if (finished) return;
    finished = true;
    if (entry !== undefined) {
      if (reusable) returnWorker(options, entry);
      else {
        entry.listener = undefined;
        void entry.worker.terminate();
      }
    }
    if (holdsSlot) options.slots.release();
  };

  const feed = async (w: Worker, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> => {
    try {
      const { done, value } = await reader.read();
      if (finished) return;
      const message: ToTransform = done ? { type: 'end', id } : { type: 'input', id, chunk: value };
      w.postMessage(message);
    } catch (err) {
      answer?.(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const start = async (): Promise<TransformWorker> => {
    await options.slots.acquire();
    holdsSlot = true;
    if (finished) throw new Error('the transform was cancelled');
    const reader = input.getReader();
    inputReader = reader;
    const taken = takeWorker(options);
    entry = taken;
    taken.listener = (message) => {
      // Messages of an earlier transform of this worker are stale.
      if (!(message instanceof Error) && message.id !== id) return;
      if (!(message instanceof Error) && message.type === 'need') void feed(taken.worker, reader);
      else answer?.(message);
    };
    const begin: ToTransform = { type: 'start', id, init: options.init };
    taken.worker.postMessage(begin);
    return taken;
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let w: Worker;
        try {
          w = (entry ?? (await start())).worker;
        } catch (err) {
          finish(false);
          throw err;
        }
        const message = await new Promise<FromTransform | Error>((resolve) => {
          answer = resolve;
          const pull: ToTransform = { type: 'pull', id };
          w.postMessage(pull);
        });
        answer = undefined;
        if (message instanceof Error) {
          finish(false);
          controller.error(message);
        } else if (message.type === 'output') controller.enqueue(message.chunk);
        else if (message.type === 'done') {
          finish(true);
          controller.close();
        } else if (message.type === 'error') {
          finish(true);
          controller.error(Object.assign(new Error(message.message), message.data));
        }
      },
      async cancel(reason) {
        finish(false);
        await inputReader?.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The worker side of {@link transformInWorker}: for each transform the parent starts, `transform`
 * gets the input as a stream the parent feeds on demand and the `init` it was started with. A
 * failure is reported by its message and whatever `describe` takes from it (plain fields: a stable
 * code, counts), never its stack.
 */
export function serveTransform(
  port: { on(event: 'message', listener: (message: ToTransform) => void): unknown; postMessage(message: FromTransform, transfer?: ArrayBuffer[]): void },
  transform: (input: ReadableStream<Uint8Array>, init: unknown) => ReadableStream<Uint8Array>,
  describe: (err: unknown) => TransformFailureData,
): void {
  let current: { readonly id: number; readonly reader: ReadableStreamDefaultReader<Uint8Array> } | undefined;
  let feed: ((message: ToTransform) => void) | undefined;

  const fail = (id: number, err: unknown): void =>
    port.postMessage({ type: 'error', id, message: err instanceof Error ? err.message : String(err), data: describe(err) });

  const begin = (id: number, init: unknown): void => {
    const input = new ReadableStream<Uint8Array>(
      {
        pull: (controller) =>
          new Promise<void>((resolve) => {
            feed = (message) => {
              if (message.id !== id) return;
              if (message.type === 'input') controller.enqueue(message.chunk);
              else controller.close();
              resolve();
            };
            port.postMessage({ type: 'need', id });
          }),
      },
      { highWaterMark: 0 },
    );
    try {
      current = { id, reader: transform(input, init).getReader() };
    } catch (err) {
      fail(id, err);
    }
  };

  const pull = async (id: number): Promise<void> => {
    const reader = current?.id === id ? current.reader : undefined;
    try {
      if (reader === undefined) throw new Error('pull of a transform that is not running');
      const { done, value } = await reader.read();
      if (done) port.postMessage({ type: 'done', id });
      else {
        // The transform may reuse its buffer: send a copy the parent then owns.
        const chunk = value.slice();
        port.postMessage({ type: 'output', id, chunk }, [chunk.buffer]);
      }
    } catch (err) {
      fail(id, err);
    }
  };

  port.on('message', (message) => {
    switch (message.type) {
      case 'start':
        begin(message.id, message.init);
        return;
      case 'input':
      case 'end':
        feed?.(message);
        return;
      case 'pull':
        void pull(message.id);
        return;
    }
  });
}
