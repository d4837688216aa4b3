import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { bodyWatchdog, type BodyExpiry } from '../../local/runtime/body-watchdog.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A watchdog between a source the test writes to and `sink`, recording what expired. */
function watch(totalMs: number, idleMs: number, sink: Writable) {
  const expiries: BodyExpiry[] = [];
  const source = new PassThrough();
  const done = pipeline(
    source,
    bodyWatchdog({ totalMs, idleMs }, (e) => expiries.push(e)),
    sink,
  ).catch(() => undefined);
  return { source, expiries, done };
}

const discard = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

describe('bodyWatchdog (the local runtime’s request body timeouts)', () => {
  it('expires as idle when no chunk arrives for the idle limit', async () => {
    const { source, expiries } = watch(5_000, 100, discard());
    source.write('a');
    await sleep(250);
    expect(expiries).toEqual(['idle']);
    source.destroy();
  });

  it('expires as total when chunks keep trickling past the total', async () => {
    const { source, expiries } = watch(300, 100, discard());
    const trickle = setInterval(() => source.write('a'), 30);
    await sleep(450);
    clearInterval(trickle);
    expect(expiries).toEqual(['total']);
    source.destroy();
  });

  it('does not count a pause its reader causes (back pressure) as the client idling', async () => {
    // A reader that takes no chunk for 400 ms: the body waits in the pipe, the client is not idle.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slowSink = new Writable({
      highWaterMark: 1,
      write: (_chunk, _encoding, callback) => void held.then(() => callback()),
    });
    const { source, expiries, done } = watch(5_000, 100, slowSink);
    for (let i = 0; i < 64; i++) source.write(Buffer.alloc(16 * 1024));
    source.end();
    await sleep(400);
    release();
    await done;
    expect(expiries).toEqual([]);
  });

  it('stops its timers once the body has ended', async () => {
    const { source, expiries, done } = watch(150, 100, discard());
    source.end('whole body');
    await done;
    await sleep(250);
    expect(expiries).toEqual([]);
  });
});
