import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createConnectionSlots } from '../../shared/sources/connection-slots.js';
import type { SourceReader } from '../../shared/sources/source-reader.js';

function countingReader(live: { now: number; most: number }): SourceReader {
  let open = false;
  const touch = () => {
    if (!open) {
      open = true;
      live.now++;
      live.most = Math.max(live.most, live.now);
    }
  };
  return {
    listFolder: () => (touch(), Promise.resolve({ entries: [] })),
    walk: async function* () {
      touch();
      yield* await Promise.resolve([]);
    },
    stat: () => (touch(), Promise.resolve(undefined)),
    open: () => (touch(), Promise.resolve(Readable.from([]))),
    close: () => {
      if (open) live.now--;
      open = false;
      return Promise.resolve();
    },
  };
}

describe('connection slots (maxConcurrentConnections per server, per instance)', () => {
  it('lets at most max readers of one server work at once; the next waits for a close', async () => {
    const slots = createConnectionSlots();
    const live = { now: 0, most: 0 };
    const readers = Array.from({ length: 5 }, () => slots.limit('sftp.example.com|22|u', 2, countingReader(live)));
    const done: number[] = [];
    const work = readers.map(async (reader, i) => {
      await reader.listFolder('', { limit: 1 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      done.push(i);
      await reader.close();
    });
    await Promise.all(work);
    expect(live.most).toBe(2);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('counts servers apart, and a reader closed before any call takes no slot', async () => {
    const slots = createConnectionSlots();
    const live = { now: 0, most: 0 };
    await slots.limit('a', 1, countingReader(live)).close();
    const a = slots.limit('a', 1, countingReader(live));
    const b = slots.limit('b', 1, countingReader(live));
    await Promise.all([a.stat('x'), b.stat('x')]);
    expect(live.most).toBe(2);
    await Promise.all([a.close(), b.close(), a.close()]);
    const again = slots.limit('a', 1, countingReader(live));
    await again.stat('x');
    await again.close();
  });
});
