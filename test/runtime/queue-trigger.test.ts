import { setTimeout as sleep } from 'node:timers/promises';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { beforeEach, describe, expect, it } from 'vitest';
import { until, useFixtureApp } from '../support/fixture-app.js';

/** The fixture's host.json `extensions.queues.maxDequeueCount`. */
const MAX_DEQUEUE_COUNT = 3;
const MAX_POLL_MS = 200;
const VISIBILITY_MS = 2_000;

interface Entry {
  fn: string;
  pid: number;
  message: unknown;
  type: string;
  dequeueCount: unknown;
  id: unknown;
  popReceipt: unknown;
  insertionTime: unknown;
  expirationTime: unknown;
  nextVisibleTime: unknown;
  queueTrigger: unknown;
  hasSys: boolean;
  retryContext: unknown;
}

describe('queue trigger (runtime child process on Azurite)', () => {
  // Upper case on purpose: the host lower-cases queue names, so the function listens on `events`.
  const app = useFixtureApp<Entry>('queue-app', {
    EVENTS_QUEUE: 'Events',
    CIPHERFLOW_QUEUE_MAX_POLL_MS: String(MAX_POLL_MS),
    CIPHERFLOW_QUEUE_VISIBILITY_MS: String(VISIBILITY_MS),
  });
  const { start, records } = app;
  let queues: QueueServiceClient;
  let events: QueueClient;
  let poison: QueueClient;

  beforeEach(async () => {
    queues = QueueServiceClient.fromConnectionString(app.azurite.connectionString);
    events = queues.getQueueClient('events');
    poison = queues.getQueueClient('events-poison');
    await events.create();
  });

  /** Sends as Event Grid and the host's own bindings do: the body base64-encoded. */
  async function send(queue: QueueClient, body: unknown): Promise<{ messageId: string; insertedOn: Date }> {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await queue.sendMessage(Buffer.from(text, 'utf8').toString('base64'));
    return { messageId: res.messageId, insertedOn: res.insertedOn };
  }

  async function messageCount(queue: QueueClient): Promise<number> {
    if (!(await queue.exists())) return 0;
    return (await queue.getProperties()).approximateMessagesCount ?? 0;
  }

  async function poisonTexts(): Promise<string[]> {
    if (!(await poison.exists())) return [];
    return (await poison.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => m.messageText);
  }

  async function attempts(): Promise<Entry[]> {
    return records('events');
  }

  it('hands a JSON message to the handler as an object, with the host trigger metadata, and deletes it', async () => {
    const body = {
      eventType: 'Microsoft.Storage.BlobCreated',
      subject: '/blobServices/default/containers/landing/blobs/a.csv',
    };
    const sent = await send(events, body);
    await start();
    await until(async () => (await attempts()).length === 1, 'one invocation');
    await until(async () => (await messageCount(events)) === 0, 'message deleted');

    const [entry] = await attempts();
    expect(entry).toMatchObject({
      message: body,
      type: 'object',
      dequeueCount: 1,
      id: sent.messageId,
      queueTrigger: body,
      hasSys: false,
      retryContext: { retryCount: 0, maxRetryCount: MAX_DEQUEUE_COUNT - 1 },
    });
    expect(typeof entry?.popReceipt).toBe('string');
    // DateTimeOffsets as the host's Newtonsoft serialization writes them.
    const dateTimeOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/;
    for (const field of ['insertionTime', 'expirationTime', 'nextVisibleTime'] as const)
      expect(entry?.[field]).toMatch(dateTimeOffset);
    expect(Date.parse(String(entry?.insertionTime))).toBe(sent.insertedOn.getTime());
    expect(Date.parse(String(entry?.expirationTime))).toBeGreaterThan(Date.now());
  });

  it('hands a plain-text message over as a string, and as bytes to a dataType binary function', async () => {
    await send(events, 'hello, queue');
    const raw = queues.getQueueClient('raw-bytes');
    await raw.create();
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    await raw.sendMessage(bytes.toString('base64'));
    await start();
    await until(async () => (await attempts()).length === 1 && (await records('raw')).length === 1, 'both invocations');

    expect(await attempts()).toMatchObject([
      { message: 'hello, queue', type: 'string', queueTrigger: 'hello, queue', dequeueCount: 1 },
    ]);
    const [binary] = await records('raw');
    expect(binary).toMatchObject({ type: 'buffer', message: bytes.toString('base64') });
    // Not valid UTF-8, so the host leaves QueueTrigger out of the binding data.
    expect(binary?.queueTrigger).toBeUndefined();
    await until(async () => (await messageCount(events)) + (await messageCount(raw)) === 0, 'both messages deleted');
  });

  it('retries a failing message with the dequeue count going up and deletes it once the handler succeeds', async () => {
    await send(events, { failAttempts: 2 });
    const runtime = await start();
    await until(async () => (await attempts()).length === 3, 'three attempts');
    await until(async () => (await messageCount(events)) === 0, 'message deleted');
    await sleep(MAX_POLL_MS * 3);

    const seen = await attempts();
    expect(seen.map((e) => e.dequeueCount)).toEqual([1, 2, 3]);
    expect(seen.map((e) => e.retryContext)).toEqual([0, 1, 2].map((retryCount) => ({ retryCount, maxRetryCount: 2 })));
    expect(new Set(seen.map((e) => e.id)).size).toBe(1);
    expect(await poisonTexts()).toEqual([]);
    expect(runtime.lines.some((line) => line.includes('queue-poisoned'))).toBe(false);
  });

  it('moves a message that failed maxDequeueCount times to {queue}-poison with the same body, and stops invoking it', async () => {
    const body = { failAttempts: 99, blob: 'landing/broken.csv' };
    const sent = await send(events, body);
    const runtime = await start();
    const event = await runtime.waitForLine((e) => e.event === 'queue-poisoned');
    await sleep(MAX_POLL_MS * 3);

    expect(event).toMatchObject({
      functionName: 'events',
      queue: 'events',
      poisonQueue: 'events-poison',
      messageId: sent.messageId,
      dequeueCount: MAX_DEQUEUE_COUNT,
      reason: 'maxDequeueCount',
    });
    expect((await attempts()).map((e) => e.dequeueCount)).toEqual([1, 2, 3]);
    const texts = await poisonTexts();
    expect(texts).toEqual([Buffer.from(JSON.stringify(body)).toString('base64')]);
    expect(await messageCount(events)).toBe(0);
  });

  it('moves a message whose attempts were used up before it was received to poison without invoking it', async () => {
    await send(events, { blob: 'landing/after-crash.csv' });
    // What a runtime that died after each attempt leaves behind: the dequeue count at the limit.
    for (let i = 0; i < MAX_DEQUEUE_COUNT; i++) {
      const [message] = (await events.receiveMessages({ visibilityTimeout: 30 })).receivedMessageItems;
      if (message === undefined) throw new Error('message not received');
      await events.updateMessage(message.messageId, message.popReceipt, undefined, 0);
    }
    const runtime = await start();
    const event = await runtime.waitForLine((e) => e.event === 'queue-poisoned');

    expect(event).toMatchObject({ dequeueCount: MAX_DEQUEUE_COUNT + 1, reason: 'maxDequeueCount' });
    expect(await poisonTexts()).toHaveLength(1);
    expect(await attempts()).toEqual([]);
  });

  it('moves a message that is not valid base64 to poison as it is, without invoking it', async () => {
    await events.sendMessage('{"not": "base64"}');
    const runtime = await start();
    const event = await runtime.waitForLine((e) => e.event === 'queue-poisoned');

    expect(event).toMatchObject({ reason: 'undecodable', dequeueCount: 1 });
    expect(await poisonTexts()).toEqual(['{"not": "base64"}']);
    expect(await attempts()).toEqual([]);
    expect(await messageCount(events)).toBe(0);
  });

  it('reads and poisons messages as plain text with messageEncoding none', async () => {
    await events.sendMessage('{"blob": "landing/plain.csv"}');
    await events.sendMessage('{"failAttempts": 99}');
    const runtime = await start({ AzureFunctionsJobHost__extensions__queues__messageEncoding: 'none' });
    await runtime.waitForLine((e) => e.event === 'queue-poisoned');

    const seen = await attempts();
    expect(
      seen.filter((e) => e.type === 'object' && JSON.stringify(e.message) === '{"blob":"landing/plain.csv"}'),
    ).toHaveLength(1);
    expect(seen.filter((e) => JSON.stringify(e.message) === '{"failAttempts":99}')).toHaveLength(MAX_DEQUEUE_COUNT);
    expect(await poisonTexts()).toEqual(['{"failAttempts": 99}']);
  });

  it('shares one queue between two runtime instances, each message handled exactly once', async () => {
    // Two messages in flight per instance at most, so both instances get work.
    const env = {
      AzureFunctionsJobHost__extensions__queues__batchSize: '2',
      AzureFunctionsJobHost__extensions__queues__newBatchThreshold: '0',
    };
    const [a, b] = await Promise.all([start(env), start(env)]);
    const ids = Array.from({ length: 20 }, (_, i) => `m-${String(i).padStart(2, '0')}`);
    for (const id of ids) await send(events, { id, delayMs: 150 });
    await until(async () => (await attempts()).length >= ids.length, 'twenty invocations');
    await until(async () => (await messageCount(events)) === 0, 'queue drained');
    await sleep(MAX_POLL_MS * 3);

    const seen = await attempts();
    expect(seen.map((e) => (e.message as { id: string }).id).sort()).toEqual(ids);
    expect(seen.every((e) => e.dequeueCount === 1)).toBe(true);
    expect(new Set(seen.map((e) => e.pid))).toEqual(new Set([a.child.pid, b.child.pid]));
  });

  it('keeps a message invisible while its invocation runs, and hands it to a new runtime after the old one is killed', async () => {
    await send(events, { slowFirstAttemptMs: 60_000 });
    const first = await start();
    await until(async () => (await attempts()).length === 1, 'first attempt');
    // Longer than the visibility timeout: without renewals the message would be received again.
    await sleep(VISIBILITY_MS * 1.75);
    expect(await attempts()).toHaveLength(1);

    await first.kill();
    const second = await start();
    await until(async () => (await attempts()).length === 2, 'attempt on the new runtime', 15_000);
    await until(async () => (await messageCount(events)) === 0, 'message deleted');

    const seen = await attempts();
    expect(seen.map((e) => [e.pid, e.dequeueCount])).toEqual([
      [first.child.pid, 1],
      [second.child.pid, 2],
    ]);
  });
});
