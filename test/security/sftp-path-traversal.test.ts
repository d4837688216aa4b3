import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SourceError } from '../../shared/errors.js';
import { createSftpReader } from '../../shared/sources/sftp-reader.js';
import type { SourceFile, SourceReader } from '../../shared/sources/source-reader.js';
import { loopbackGuard } from '../support/loopback-guard.js';
import { sftpSource, startSftpServer, type SftpServer } from '../support/sftp-server.js';

/**
 * Attack: a folder or file path with `..` (or what a Windows server reads as `..`: `...`, `.. `,
 * backslashes) climbs out of the connection's folder to the server's other data; a NUL cuts a
 * path short inside the server. Every such path is refused with SOURCE_PATH_NOT_FOUND before a
 * request is sent, in the connection's `folderPath` before it even connects, and nothing outside
 * the folder is read.
 */
describe('attack: path traversal out of the SFTP folder', () => {
  let server: SftpServer;
  let secret: SourceFile;
  const readers: SourceReader[] = [];
  const reader = (folderPath: string, guard = loopbackGuard()) => {
    const r = createSftpReader(sftpSource(server, folderPath), {
      guard,
      hostKey: { fingerprint: server.hostKeyFingerprint },
    });
    readers.push(r);
    return r;
  };

  beforeAll(async () => {
    server = await startSftpServer();
    writeFileSync(join(server.root, 'upload', 'secret.csv'), 'outside the folder');
    mkdirSync(join(server.root, 'upload', 'inbox', 'sub'), { recursive: true });
    writeFileSync(join(server.root, 'upload', 'inbox', 'mine.csv'), 'inside');
    const info = statSync(join(server.root, 'upload', 'secret.csv'));
    secret = {
      type: 'file',
      path: '',
      name: 'secret.csv',
      size: info.size,
      lastModified: 0,
      version: `${Math.floor(info.mtimeMs / 1000)}-${info.size}`,
    };
  });
  afterEach(async () => {
    await Promise.all(readers.splice(0).map((r) => r.close()));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const refused = async (attempt: Promise<unknown>, label: string) => {
    const err = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, label).toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
    expect((err as SourceError).detail, label).toMatch(/'\.\.'/);
  };

  const HOSTILE = [
    '..',
    '../secret.csv',
    'sub/../../secret.csv',
    '/../secret.csv',
    '...',
    '.. ',
    '..\\secret.csv',
    'sub\\..\\..\\secret.csv',
    'mine.csv\u0000/../../secret.csv',
  ];

  it('refuses every hostile path in listFolder, walk, stat and open', async () => {
    const r = reader('/upload/inbox');
    for (const path of HOSTILE) {
      await refused(r.listFolder(path, { limit: 10 }), `listFolder ${JSON.stringify(path)}`);
      await refused(r.stat(path), `stat ${JSON.stringify(path)}`);
      await refused(r.open({ ...secret, path }), `open ${JSON.stringify(path)}`);
      await refused(
        (async () => {
          for await (const file of r.walk(path, { recursive: true })) expect.fail(`walked ${file.path}`);
        })(),
        `walk ${JSON.stringify(path)}`,
      );
    }
    // The same reader still reads its own folder, and only it.
    expect((await r.listFolder('', { limit: 10 })).entries.map((e) => e.path).sort()).toEqual(['mine.csv', 'sub']);
  });

  it('refuses a folderPath that climbs out, without connecting', async () => {
    for (const folderPath of [
      '/upload/inbox/..',
      '/upload/inbox/../..',
      '../upload',
      'upload/inbox/sub/../..',
      '\\upload\\..',
    ]) {
      const guard = loopbackGuard();
      await refused(reader(folderPath, guard).listFolder('', { limit: 10 }), folderPath);
      expect(guard.checks, folderPath).toEqual([]);
    }
  });

  it('keeps a leading / inside the folder', async () => {
    const r = reader('/upload/inbox');
    expect(await r.stat('/secret.csv')).toBeUndefined();
    expect(await r.stat('/mine.csv')).toMatchObject({ path: 'mine.csv' });
    await expect(r.open({ ...secret, path: '/secret.csv' })).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
  });
});
