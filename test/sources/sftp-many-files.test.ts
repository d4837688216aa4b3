import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSftpReader } from '../../shared/sources/sftp-reader.js';
import type { SourceReader } from '../../shared/sources/source-reader.js';
import { loopbackGuard } from '../support/loopback-guard.js';
import { sftpSource, startSftpServer, type SftpServer } from '../support/sftp-server.js';

const FILES = 10_000;

/**
 * A folder of 10,000 files: the reader walks it in batches (never collecting every name first)
 * and pages through it with tokens, each entry exactly once.
 */
describe('an SFTP folder of 10,000 files', () => {
  let server: SftpServer;
  let reader: SourceReader;
  const expected = new Set<string>();

  beforeAll(async () => {
    server = await startSftpServer();
    const local = join(server.root, 'upload', 'many');
    mkdirSync(local);
    for (let i = 0; i < FILES; i++) {
      const name = `file-${String(i).padStart(5, '0')}.csv.gpg`;
      writeFileSync(join(local, name), '');
      expected.add(name);
    }
    reader = createSftpReader(sftpSource(server, '/upload/many'), {
      guard: loopbackGuard(),
      hostKey: { fingerprint: server.hostKeyFingerprint },
    });
  });
  afterAll(async () => {
    await reader?.close();
    await server?.stop();
  });

  it('walks every file exactly once', async () => {
    const seen = new Set<string>();
    let count = 0;
    for await (const file of reader.walk('', { recursive: true })) {
      count++;
      seen.add(file.path);
    }
    expect(count).toBe(FILES);
    expect(seen).toEqual(expected);
  });

  it('pages through them 1,000 at a time', async () => {
    const seen = new Set<string>();
    const sizes: number[] = [];
    let start: string | undefined;
    do {
      const page = await reader.listFolder('', { limit: 1000, ...(start === undefined ? {} : { start }) });
      sizes.push(page.entries.length);
      for (const e of page.entries) seen.add(e.path);
      start = page.next;
    } while (start !== undefined);
    expect(sizes).toEqual(Array.from({ length: FILES / 1000 }, () => 1000));
    expect(seen).toEqual(expected);
  });
});
