import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * What a caller does when every worker is busy: `wait` in line however long the line is (work
 * that has no one waiting on a socket, such as an ingestion), or `refuse` once
 * {@link WorkerPoolOptions.maxWaiting} refusing callers already wait (an HTTP request, which is
 * better answered 503 at once than held while the line drains).
 */
export type WhenBusy = 'wait' | 'refuse';

export interface WorkerPoolOptions {
  /** The worker's module: it answers {@link WorkerRequest}s with {@link WorkerReply}s (see `serveWorkerOperations`). */
  readonly script: URL;
  /** Most workers alive at once; they start on demand. */
  readonly size: number;
  /** Most `refuse` callers waiting for a worker; one more is refused with {@link WorkerPoolBusyError}. */
  readonly maxWaiting: number;
  /** A worker idle this long exits, so an idle app holds no threads (default 60 s). */
  readonly idleMs?: number;
  /** Heap limits of each worker, so a runaway job ends its worker rather than the app. */
  readonly resourceLimits?: ResourceLimits;
}

export interface WorkerPoolStats {
  /** Workers alive now. */
  readonly workers: number;
  /** Workers running a job now. */
  readonly busy: number;
  /** Jobs waiting for a worker now. */
  readonly waiting: number;
  /** Jobs handed to a worker so far, by operation. */
  readonly started: Readonly<Record<string, number>>;
  /** Jobs refused so far because the line was full. */
  readonly refused: number;
}

/** The line for workers is full: a `refuse` caller is turned away. */
export class WorkerPoolBusyError extends Error {
  override readonly name = 'WorkerPoolBusyError';
  constructor() {
    super('Every worker is busy and the line is full');
  }
}

/** A job that failed inside its worker: the error's name and message as the worker reported them. */
export class WorkerJobError extends Error {
  override readonly name = 'WorkerJobError';
  constructor(
    readonly remoteName: string,
    message: string,
    /** What the operation chose to report about its failure (plain data, e.g. a stable code). */
    readonly data: unknown,
  ) {
    super(message);
  }
}

/** A message to a worker: run `operation` on `input`. */
export interface WorkerRequest {
  readonly id: number;
  readonly operation: string;
  readonly input: unknown;
}

/** A worker's answer to one {@link WorkerRequest}. */
export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly name: string; readonly message: string; readonly data: unknown };

export interface WorkerPool {
  /**
   * Runs `operation` on `input` in a worker thread and settles with its result. Each worker runs
   * one job at a time, so at most `size` jobs run at once whatever the callers do.
   *
   * @throws WorkerPoolBusyError for a `refuse` caller when the line is full.
   * @throws WorkerJobError when the operation failed in the worker.
   * @throws Error when the worker died during the job (it is replaced for the next one).
   */
  run<T>(operation: string, input: unknown, whenBusy: WhenBusy): Promise<T>;
  stats(): WorkerPoolStats;
  /** Ends every worker; jobs still waiting or running are rejected. */
  close(): Promise<void>;
}

interface Job {
  readonly operation: string;
  readonly input: unknown;
  readonly whenBusy: WhenBusy;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  job?: { readonly id: number; readonly job: Job } | undefined;
  idleTimer?: NodeJS.Timeout;
}

const DEFAULT_IDLE_MS = 60_000;

/**
 * A bounded pool of worker threads for CPU-heavy work that must not run on the thread that
 * serves HTTP: a job there blocks every request of every tenant for as long as it runs.
 */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('size must be a positive integer');
  if (!Number.isInteger(options.maxWaiting) || options.maxWaiting < 0) throw new RangeError('maxWaiting must be a non-negative integer');
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const slots = new Set<Slot>();
  const line: Job[] = [];
  const started: Record<string, number> = {};
  let refused = 0;
  let nextId = 1;
  let closed = false;

  const waitingRefusers = (): number => line.filter((j) => j.whenBusy === 'refuse').length;

  function spawn(): Slot {
    const worker = new Worker(options.script, {
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      // The worker inherits no environment: it needs none, and secrets in settings stay out of it.
      env: {},
    });
    // An idle worker must not keep the process alive.
    worker.unref();
    const slot: Slot = { worker };
    slots.add(slot);
    worker.on('message', (reply: WorkerReply) => {
      const current = slot.job;
      if (current === undefined || current.id !== reply.id) return;
      slot.job = undefined;
      worker.unref();
      if (reply.ok) current.job.resolve(reply.value);
      else current.job.reject(new WorkerJobError(reply.name, reply.message, reply.data));
      next(slot);
    });
    const lost = (err: Error): void => {
      if (!slots.delete(slot)) return;
      clearTimeout(slot.idleTimer);
      slot.job?.job.reject(err);
      slot.job = undefined;
      // Whoever waits gets a fresh worker.
      if (!closed && line.length > 0) next(spawn());
    };
    worker.on('error', (err) => lost(err));
    worker.on('exit', (code) => lost(new Error(`worker exited with code ${code}`)));
    return slot;
  }

  function dispatch(slot: Slot, job: Job): void {
    clearTimeout(slot.idleTimer);
    const id = nextId++;
    slot.job = { id, job };
    started[job.operation] = (started[job.operation] ?? 0) + 1;
    // Busy workers keep the process alive until their job is done.
    slot.worker.ref();
    const request: WorkerRequest = { id, operation: job.operation, input: job.input };
    slot.worker.postMessage(request);
  }

  function next(slot: Slot): void {
    const job = line.shift();
    if (job !== undefined) {
      dispatch(slot, job);
      return;
    }
    slot.idleTimer = setTimeout(() => {
      if (slot.job === undefined && slots.delete(slot)) void slot.worker.terminate();
    }, idleMs);
    slot.idleTimer.unref();
  }

  return {
    run<T>(operation: string, input: unknown, whenBusy: WhenBusy): Promise<T> {
      if (closed) return Promise.reject(new Error('the worker pool is closed'));
      return new Promise<unknown>((resolve, reject) => {
        const job: Job = { operation, input, whenBusy, resolve, reject };
        const idle = [...slots].find((s) => s.job === undefined);
        if (idle !== undefined) dispatch(idle, job);
        else if (slots.size < options.size) dispatch(spawn(), job);
        else if (whenBusy === 'refuse' && waitingRefusers() >= options.maxWaiting) {
          refused += 1;
          reject(new WorkerPoolBusyError());
        } else line.push(job);
      }) as Promise<T>;
    },
    stats() {
      const busy = [...slots].filter((s) => s.job !== undefined).length;
      return { workers: slots.size, busy, waiting: line.length, started: { ...started }, refused };
    },
    async close() {
      closed = true;
      for (const job of line.splice(0)) job.reject(new Error('the worker pool is closed'));
      const all = [...slots];
      slots.clear();
      for (const slot of all) {
        clearTimeout(slot.idleTimer);
        slot.job?.job.reject(new Error('the worker pool is closed'));
      }
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}

/**
 * The worker side: answers each {@link WorkerRequest} from the parent with the named operation's
 * result. An operation's failure is reported by name and message, plus whatever `describe`
 * returns for it (plain data, such as a stable code), never its stack or cause.
 */
export function serveWorkerOperations<K extends string>(
  port: { on(event: 'message', listener: (request: WorkerRequest) => void): unknown; postMessage(reply: WorkerReply): void },
  operations: { readonly [P in K]: (input: never) => Promise<unknown> },
  describe: (err: unknown) => unknown = () => undefined,
): void {
  const byName = new Map<string, (input: never) => Promise<unknown>>(Object.entries(operations));
  port.on('message', (request) => {
    void (async () => {
      let reply: WorkerReply;
      try {
        const operation = byName.get(request.operation);
        if (operation === undefined) throw new Error(`unknown worker operation ${request.operation}`);
        reply = { id: request.id, ok: true, value: await operation(request.input as never) };
      } catch (err) {
        const { name, message } = err instanceof Error ? err : { name: 'Error', message: String(err) };
        reply = { id: request.id, ok: false, name, message, data: describe(err) };
      }
      port.postMessage(reply);
    })();
  });
}
