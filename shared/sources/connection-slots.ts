import type { Readable } from 'node:stream';
import type { SourceFile, SourceReader } from './source-reader.js';

/**
 * At most so many readers at once per server and account, in this process: an SFTP connection's
 * `maxConcurrentConnections` (servers often cap sessions per user and refuse the rest). A reader
 * takes its slot on its first call, waiting while the server's are all taken, and gives it back
 * when closed. The cap is per instance: N instances may hold N times as many sessions.
 */
export interface ConnectionSlots {
  limit(key: string, max: number, reader: SourceReader): SourceReader;
}

export function createConnectionSlots(): ConnectionSlots {
  const servers = new Map<string, { held: number; waiting: (() => void)[] }>();
  const acquire = async (key: string, max: number): Promise<void> => {
    let server = servers.get(key);
    if (server === undefined) {
      server = { held: 0, waiting: [] };
      servers.set(key, server);
    }
    while (server.held >= max) {
      const queue = server.waiting;
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    server.held++;
  };
  const release = (key: string): void => {
    const server = servers.get(key);
    if (server === undefined) return;
    server.held--;
    const next = server.waiting.shift();
    if (next !== undefined) next();
    else if (server.held === 0) servers.delete(key);
  };
  return {
    limit(key, max, reader) {
      let slot: Promise<void> | undefined;
      let closed = false;
      const held = () => (slot ??= acquire(key, max));
      const walk = async function* (folder: string, options: { readonly recursive: boolean }): AsyncGenerator<SourceFile> {
        await held();
        yield* reader.walk(folder, options);
      };
      return {
        listFolder: async (folder, page) => (await held(), reader.listFolder(folder, page)),
        walk,
        stat: async (path) => (await held(), reader.stat(path)),
        open: async (file): Promise<Readable> => (await held(), reader.open(file)),
        async close() {
          if (closed) return;
          closed = true;
          await reader.close();
          if (slot !== undefined) {
            await slot;
            release(key);
          }
        },
      };
    },
  };
}
