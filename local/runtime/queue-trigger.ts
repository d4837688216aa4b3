import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueServiceClient, type DequeuedMessageItem, type QueueClient } from '@azure/storage-queue';
import { statusCodeOf } from '../../shared/core/azure-errors.js';
import type { Registration } from './core-api.js';
import type { RpcBindingInfo, RpcTypedData } from './core-types.js';
import type { ListenerContext, TriggerListener } from './host.js';
import { readHostJson } from './host-json.js';
import { triggerOf } from './http-host.js';
import { invoke } from './invoke.js';
import { MIN_POLLING_INTERVAL_MS, queuesOptions, type QueuesOptions } from './queues-options.js';
import { storageConnectionString } from './settings.js';
import { resolveSettingTokens } from './setting-tokens.js';

/** The host's poison queue suffix (QueueListenerFactory): `{queue}-poison`. */
export const POISON_QUEUE_SUFFIX = '-poison';

/**
 * How long a received message stays invisible while its function runs: the host's 10 minutes
 * (QueueListener's fixed visibility timeout), renewed at half of it for as long as the invocation
 * lasts. `CIPHERFLOW_QUEUE_VISIBILITY_MS` shortens it for tests (how fast a message held by a
 * killed runtime reappears); the queue service counts whole seconds, so it is rounded up.
 */
const DEFAULT_VISIBILITY_MS = 10 * 60_000;
/**
 * The local cap on the wait between polls of an empty queue, `CIPHERFLOW_QUEUE_MAX_POLL_MS`. The
 * host backs off up to maxPollingInterval, 1 minute by default, to save storage transactions in
 * Azure; against Azurite a saved transaction is worth nothing, and a developer who drops a file
 * expects the function to run within a second, not a minute later. The host's backoff curve is
 * kept below the cap (never under the host's 100 ms minimum), and a smaller host.json
 * maxPollingInterval still applies. Set it to 60000 to wait as Azure does.
 */
const DEFAULT_LOCAL_MAX_POLL_MS = 1_000;

/** The delay strategy of the host's QueueListener (RandomizedExponentialBackoffStrategy). */
export interface PollingBackoff {
  /** The wait before the next poll; `foundMessage`: a message was found since the last wait. */
  next(foundMessage: boolean): number;
}

/**
 * The host's backoff between polls: the minimum right after messages were found, then the minimum
 * plus 2^(n-1) times it with ±20 % jitter after the n-th empty poll in a row, up to the maximum.
 */
export function createPollingBackoff(minMs: number, maxMs: number, random: () => number = Math.random): PollingBackoff {
  let current = 0;
  let exponent = 0;
  return {
    next(foundMessage) {
      if (foundMessage) {
        current = minMs;
        exponent = 1;
      } else if (current !== maxMs) {
        let interval = minMs;
        if (exponent > 0) interval += (0.8 + 0.4 * random()) * 2 ** (exponent - 1) * minMs;
        if (interval < maxMs) {
          current = interval;
          exponent++;
        } else {
          current = maxMs;
        }
      }
      return Math.round(current);
    },
  };
}

/**
 * A queue name as the host normalizes and validates it (QueueTriggerAttributeBindingProvider,
 * QueueClientExtensions): lower-cased, 3-63 letters, digits and single dashes, no dash at either end.
 *
 * @throws Error when the name is not a valid queue name.
 */
export function normalizeQueueName(name: string): string {
  const lower = name.toLowerCase();
  if (!isValidQueueName(lower)) {
    throw new Error(
      `"${name}" is not a valid queue name (3-63 lowercase letters, digits and single dashes, not starting or ending with a dash).`,
    );
  }
  return lower;
}

function isValidQueueName(name: string): boolean {
  return /^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/.test(name) && name.length >= 3 && name.length <= 63;
}

/**
 * The poison queue of a queue as the host names it, or undefined where the host has none: for a
 * queue that is itself a poison queue, or whose name would grow past 63 characters.
 */
export function poisonQueueName(queueName: string): string | undefined {
  if (queueName.endsWith(POISON_QUEUE_SUFFIX)) return undefined;
  const name = queueName + POISON_QUEUE_SUFFIX;
  return isValidQueueName(name) ? name : undefined;
}

interface ListenerOptions extends QueuesOptions {
  /** The effective longest wait between empty polls (host.json, capped locally). */
  readonly pollCapMs: number;
  readonly visibilitySeconds: number;
}

/**
 * Runs the app's storage queue triggers with the host's QueueListener and QueueProcessor
 * behaviour (Microsoft.Azure.WebJobs.Extensions.Storage.Queues): batches of `batchSize` received
 * with a visibility timeout that is renewed while the function runs, a new batch once the
 * in-flight count drops to `newBatchThreshold`, exponential backoff while the queue is empty,
 * delete on success, release after `visibilityTimeout` on failure, and `{queue}-poison` after
 * `maxDequeueCount` attempts. The queue's own visibility is what keeps runtime instances on the
 * same storage from taking the same message, as in Azure.
 */
export async function startQueueTriggers(ctx: ListenerContext): Promise<TriggerListener> {
  const registrations = [...ctx.core.registrations.values()].filter(
    (r) => triggerOf(r)[1].type?.toLowerCase() === 'queuetrigger',
  );
  if (registrations.length === 0) return { close: () => Promise.resolve() };
  const options = queuesOptions(await readHostJson(ctx.settings), ctx.settings);
  const localCap =
    wholeNumber(ctx.settings.CIPHERFLOW_QUEUE_MAX_POLL_MS, 'CIPHERFLOW_QUEUE_MAX_POLL_MS') ?? DEFAULT_LOCAL_MAX_POLL_MS;
  const visibilityMs =
    wholeNumber(ctx.settings.CIPHERFLOW_QUEUE_VISIBILITY_MS, 'CIPHERFLOW_QUEUE_VISIBILITY_MS') ?? DEFAULT_VISIBILITY_MS;
  const listenerOptions: ListenerOptions = {
    ...options,
    pollCapMs: Math.max(MIN_POLLING_INTERVAL_MS, Math.min(options.maxPollingIntervalMs, localCap)),
    visibilitySeconds: Math.max(1, Math.ceil(visibilityMs / 1000)),
  };
  const listeners = registrations.map((r) => new QueueListener(ctx, r, listenerOptions));
  for (const listener of listeners) listener.start();
  return {
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}

/** A received message's current hold on the queue: renewals replace the pop receipt. */
interface Hold {
  popReceipt: string;
}

type Outcome = 'succeeded' | 'failed';

class QueueListener {
  readonly #ctx: ListenerContext;
  readonly #registration: Registration;
  readonly #triggerName: string;
  readonly #binding: RpcBindingInfo;
  readonly #functionName: string;
  readonly #options: ListenerOptions;
  readonly #queueName: string;
  readonly #queue: QueueClient;
  readonly #poisonQueue: QueueClient | undefined;
  readonly #backoff: PollingBackoff;
  readonly #processing = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #queueExists = false;
  #foundSinceLastWait = false;
  #lastPollError: string | undefined;
  #reportedMissing = false;

  constructor(ctx: ListenerContext, registration: Registration, options: ListenerOptions) {
    this.#ctx = ctx;
    this.#registration = registration;
    const [triggerName, binding] = triggerOf(registration);
    this.#triggerName = triggerName;
    this.#binding = binding;
    this.#functionName = registration.metadata.name;
    this.#options = options;
    const rawName = typeof binding.queueName === 'string' ? binding.queueName : '';
    this.#queueName = normalizeQueueName(resolveSettingTokens(rawName, ctx.settings));
    const connection = typeof binding.connection === 'string' ? binding.connection : '';
    const service = QueueServiceClient.fromConnectionString(storageConnectionString(ctx.settings, connection));
    this.#queue = service.getQueueClient(this.#queueName);
    const poison = poisonQueueName(this.#queueName);
    this.#poisonQueue = poison === undefined ? undefined : service.getQueueClient(poison);
    this.#backoff = createPollingBackoff(MIN_POLLING_INTERVAL_MS, options.pollCapMs);
  }

  start(): void {
    const o = this.#options;
    this.#ctx.logger.write(
      'information',
      'system',
      `Queue trigger '${this.#functionName}' listening on queue '${this.#queueName}' (batchSize ${o.batchSize}, ` +
        `newBatchThreshold ${o.newBatchThreshold}, polling backoff up to ${o.pollCapMs} ms, visibility ${o.visibilitySeconds} s, ` +
        `maxDequeueCount ${o.maxDequeueCount}, messageEncoding ${o.messageEncoding}).`,
    );
    this.#running = this.#pollLoop();
  }

  /** Stops polling, then waits for the messages already received to finish, as the host's StopAsync does. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    await Promise.all(this.#processing);
  }

  async #pollLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const batch = await this.#receive();
      if (batch === undefined || batch.length === 0) {
        const wait = this.#backoff.next(this.#foundSinceLastWait);
        this.#foundSinceLastWait = false;
        await pause(wait, signal);
        continue;
      }
      this.#foundSinceLastWait = true;
      for (const message of batch) {
        const work: Promise<void> = this.#process(message)
          .catch((err: unknown) => {
            this.#ctx.logger.write(
              'error',
              'system',
              `Queue trigger '${this.#functionName}' could not process message ${message.messageId}: ${messageOf(err)}`,
            );
          })
          .finally(() => this.#processing.delete(work));
        this.#processing.add(work);
      }
      // The host fetches the next batch straight away once the in-flight count is at or below the threshold.
      while (this.#processing.size > this.#options.newBatchThreshold) await Promise.race(this.#processing);
    }
  }

  /** One poll; undefined when the queue is missing or the poll failed (both back off, as in the host). */
  async #receive(): Promise<DequeuedMessageItem[] | undefined> {
    try {
      if (!this.#queueExists) {
        // The host checks for the queue rather than creating it: in Azure it is infrastructure.
        this.#queueExists = await this.#queue.exists();
        if (!this.#queueExists) {
          if (!this.#reportedMissing) {
            this.#reportedMissing = true;
            this.#ctx.logger.write(
              'information',
              'system',
              `Queue trigger '${this.#functionName}': queue '${this.#queueName}' does not exist yet; polling until it does.`,
            );
          }
          return undefined;
        }
      }
      const response = await this.#queue.receiveMessages({
        numberOfMessages: this.#options.batchSize,
        visibilityTimeout: this.#options.visibilitySeconds,
      });
      this.#lastPollError = undefined;
      return response.receivedMessageItems;
    } catch (err) {
      // Any failure re-checks the queue's existence next time, as the host does.
      this.#queueExists = false;
      const text = messageOf(err);
      if (text !== this.#lastPollError && statusCodeOf(err) !== 404) {
        this.#ctx.logger.write(
          'warning',
          'system',
          `Queue trigger '${this.#functionName}': polling queue '${this.#queueName}' failed: ${text}`,
        );
      }
      this.#lastPollError = text;
      return undefined;
    }
  }

  /** One message: the host's QueueListener.ProcessMessageAsync with QueueProcessor's begin and complete steps. */
  async #process(message: DequeuedMessageItem): Promise<void> {
    const hold: Hold = { popReceipt: message.popReceipt };
    const body = this.#decode(message.messageText);
    if (body === undefined) {
      // The host's MessageDecodingFailed handler: never invoked, copied as it is (it cannot be
      // re-encoded) and removed.
      await this.#moveToPoison(message, hold, message.messageText, 'undecodable');
      return;
    }
    if (message.dequeueCount > this.#options.maxDequeueCount) {
      // Attempts already used up: the runtime stopped during or after the last one.
      await this.#moveToPoison(message, hold, this.#encode(body), 'maxDequeueCount');
      return;
    }
    const renewal = this.#keepInvisible(message, hold);
    let outcome: Outcome;
    try {
      outcome = await this.#invoke(message, body);
    } finally {
      await renewal.stop();
    }
    if (outcome === 'succeeded') {
      await this.#delete(message, hold);
    } else if (this.#poisonQueue === undefined) {
      // As the host does for a queue without a poison queue: leave it invisible, so a message that
      // always fails does not spin; it comes back when its visibility runs out.
    } else if (message.dequeueCount >= this.#options.maxDequeueCount) {
      await this.#moveToPoison(message, hold, this.#encode(body), 'maxDequeueCount');
    } else {
      await this.#release(message, hold);
    }
  }

  async #invoke(message: DequeuedMessageItem, body: Buffer): Promise<Outcome> {
    const invocationId = randomUUID();
    // The host binds a script function's queue trigger to a string (UTF-8, invalid bytes replaced),
    // or to bytes for dataType "binary"; @azure/functions then parses a JSON string into its value.
    const data: RpcTypedData =
      this.#binding.dataType?.toLowerCase() === 'binary' ? { bytes: body } : { string: body.toString('utf8') };
    // The host's binding data (QueueTriggerBinding.CreateBindingData) as its gRPC conversion sends
    // it: strings as strings, the long and the DateTimeOffsets as JSON. `sys` is not sent to
    // workers (ScriptInvocationContextExtensions.ShouldSkipBindingData).
    const triggerMetadata: Record<string, RpcTypedData> = {
      DequeueCount: { json: JSON.stringify(message.dequeueCount) },
      ExpirationTime: { json: JSON.stringify(dotnetDateTimeOffset(message.expiresOn)) },
      Id: { string: message.messageId },
      InsertionTime: { json: JSON.stringify(dotnetDateTimeOffset(message.insertedOn)) },
      NextVisibleTime: { json: JSON.stringify(dotnetDateTimeOffset(message.nextVisibleOn)) },
      PopReceipt: { string: message.popReceipt },
    };
    this.#ctx.logger
      .child({ functionName: this.#functionName, invocationId })
      .write(
        'information',
        'system',
        `Trigger Details: MessageId: ${message.messageId}, DequeueCount: ${message.dequeueCount}, InsertedOn: ${message.insertedOn.toISOString()}`,
      );
    const text = strictUtf8(body);
    // Left out when the body is not valid UTF-8, as the host does (QueueMessage.TryGetAsString).
    if (text !== undefined) triggerMetadata.QueueTrigger = { string: text };
    try {
      await invoke(
        this.#ctx.core,
        this.#registration,
        {
          invocationId,
          inputData: [{ name: this.#triggerName, data }],
          triggerMetadata,
          retryContext: { retryCount: message.dequeueCount - 1, maxRetryCount: this.#options.maxDequeueCount - 1 },
        },
        this.#ctx.logger,
      );
      return 'succeeded';
    } catch {
      // invoke() has logged the failure with the invocation id.
      return 'failed';
    }
  }

  /**
   * Renews the message's invisibility while the function runs, as the host's visibility timer does:
   * every half visibility timeout, sooner (halving, down to a tenth) after a failed renewal, and no
   * more once the message is lost (another holder's pop receipt, or deleted).
   */
  #keepInvisible(message: DequeuedMessageItem, hold: Hold): { stop(): Promise<void> } {
    const normalMs = (this.#options.visibilitySeconds * 1000) / 2;
    const minimumMs = (this.#options.visibilitySeconds * 1000) / 10;
    let intervalMs = normalMs;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let renewing: Promise<void> | undefined;
    const schedule = (): void => {
      if (!stopped) timer = setTimeout(renew, intervalMs);
    };
    const renew = (): void => {
      renewing = this.#queue
        .updateMessage(message.messageId, hold.popReceipt, undefined, this.#options.visibilitySeconds)
        .then((res) => {
          if (res.popReceipt !== undefined) hold.popReceipt = res.popReceipt;
          intervalMs = normalMs;
          schedule();
        })
        .catch((err: unknown) => {
          if (lostOwnership(err)) {
            this.#ctx.logger.write(
              'warning',
              'system',
              `Queue trigger '${this.#functionName}': lost message ${message.messageId} while it was processed: ${messageOf(err)}`,
            );
            return;
          }
          intervalMs = Math.max(intervalMs / 2, minimumMs);
          schedule();
        })
        .finally(() => {
          renewing = undefined;
        });
    };
    schedule();
    return {
      async stop() {
        stopped = true;
        clearTimeout(timer);
        // A renewal under way changes the pop receipt that the delete or release needs.
        await renewing;
      },
    };
  }

  async #delete(message: DequeuedMessageItem, hold: Hold): Promise<void> {
    try {
      await this.#queue.deleteMessage(message.messageId, hold.popReceipt);
    } catch (err) {
      // Taken over by another instance, or already gone: theirs to finish, as in the host.
      if (!lostOwnership(err)) throw err;
    }
  }

  /** The host's ReleaseMessageAsync: visible again after `visibilityTimeout` (whole seconds, as the SDK sends it). */
  async #release(message: DequeuedMessageItem, hold: Hold): Promise<void> {
    try {
      await this.#queue.updateMessage(
        message.messageId,
        hold.popReceipt,
        undefined,
        Math.floor(this.#options.visibilityTimeoutMs / 1000),
      );
    } catch (err) {
      if (!lostOwnership(err)) throw err;
    }
  }

  /** The host's HandlePoisonMessageAsync: a copy on `{queue}-poison` (created if need be), then the original deleted. */
  async #moveToPoison(
    message: DequeuedMessageItem,
    hold: Hold,
    text: string,
    reason: 'maxDequeueCount' | 'undecodable',
  ): Promise<void> {
    const poison = this.#poisonQueue;
    if (poison === undefined) return;
    await poison.createIfNotExists();
    await poison.sendMessage(text);
    await this.#delete(message, hold);
    const why =
      reason === 'undecodable'
        ? `is not valid ${this.#options.messageEncoding}`
        : `has reached MaxDequeueCount of ${this.#options.maxDequeueCount}`;
    this.#ctx.logger.write(
      'warning',
      'system',
      `Queue trigger '${this.#functionName}': message ${message.messageId} on queue '${this.#queueName}' ${why} (dequeue count ${message.dequeueCount}). Moved it to queue '${poison.name}'.`,
    );
    this.#ctx.logger.event('queue-poisoned', {
      functionName: this.#functionName,
      queue: this.#queueName,
      poisonQueue: poison.name,
      messageId: message.messageId,
      dequeueCount: message.dequeueCount,
      reason,
    });
  }

  /** The message body from its text, per `messageEncoding`; undefined when base64 text does not decode. */
  #decode(text: string): Buffer | undefined {
    if (this.#options.messageEncoding === 'none') return Buffer.from(text, 'utf8');
    // .NET's Convert.FromBase64String: whitespace ignored, otherwise strict (Buffer.from is lenient).
    const compact = text.replace(/[ \t\r\n]/g, '');
    if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
    return Buffer.from(compact, 'base64');
  }

  #encode(body: Buffer): string {
    return this.#options.messageEncoding === 'none' ? body.toString('utf8') : body.toString('base64');
  }
}

/** A DateTimeOffset in UTC as Newtonsoft writes it (`2025-03-01T10:15:30+00:00`, fraction only if non-zero). */
function dotnetDateTimeOffset(date: Date): string {
  return date.toISOString().replace(/\.?0*Z$/, '+00:00');
}

function strictUtf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** The failures after which the host stops touching a message: pop receipt mismatch, message or queue gone or disabled. */
function lostOwnership(err: unknown): boolean {
  const status = statusCodeOf(err);
  return status === 404 || status === 409 || (status === 400 && codeOf(err) === 'PopReceiptMismatch');
}

/** Waits; returns early (without throwing) when the signal aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks the signal
  }
}

function wholeNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${name} must be a positive whole number of milliseconds (got "${value}").`);
  }
  return n;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
