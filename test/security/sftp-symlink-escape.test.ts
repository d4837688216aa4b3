import { lstatSync, mkdirSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSftpReader } from '../../shared/sources/sftp-reader.js';
import type { SourceFile, SourceReader } from '../../shared/sources/source-reader.js';
import { loopbackGuard } from '../support/loopback-guard.js';
import { sftpSource, startSftpServer, type SftpServer } from '../support/sftp-server.js';

const SECRET = 'payroll of another customer';

/**
 * Attack: the customer's SFTP folder holds symbolic links to a file or folder outside it (the
 * server's other data), or swaps a listed file for such a link before it is read, so that
 * ingestion pulls what the connection's folder does not hold. Links are never listed, walked,
 * stat'ed or opened, and no path through one resolves; every attempt is SOURCE_PATH_NOT_FOUND.
 */
describe('attack: a symbolic link out of the SFTP folder', () => {
  let server: SftpServer;
  let reader: SourceReader;
  let folder: string;
  let secretFile: SourceFile;

  beforeAll(async () => {
    server = await startSftpServer();
    writeFileSync(join(server.root, 'secret.csv'), SECRET);
    folder = join(server.root, 'upload', 'inbox');
    mkdirSync(folder);
    writeFileSync(join(folder, 'mine.csv'), 'my own data');
    symlinkSync('/secret.csv', join(folder, 'absolute.csv'));
    symlinkSync('../../secret.csv', join(folder, 'relative.csv'));
    symlinkSync('/', join(folder, 'server-root'));
    reader = createSftpReader(sftpSource(server, '/upload/inbox'), {
      guard: loopbackGuard(),
      hostKey: { fingerprint: server.hostKeyFingerprint },
    });
    const info = statSync(join(server.root, 'secret.csv'));
    const version = `${Math.floor(info.mtimeMs / 1000)}-${info.size}`;
    secretFile = {
      type: 'file',
      path: 'absolute.csv',
      name: 'absolute.csv',
      size: info.size,
      lastModified: 0,
      version,
    };
  });
  afterAll(async () => {
    await reader?.close();
    await server?.stop();
  });

  it('never lists, walks or stats a link', async () => {
    const page = await reader.listFolder('', { limit: 100 });
    expect(page.entries.map((e) => e.path)).toEqual(['mine.csv']);
    const walked: string[] = [];
    for await (const file of reader.walk('', { recursive: true })) walked.push(file.path);
    expect(walked).toEqual(['mine.csv']);
    for (const path of ['absolute.csv', 'relative.csv', 'server-root', 'server-root/secret.csv']) {
      expect(await reader.stat(path), path).toBeUndefined();
    }
  });

  it('never opens a link or a path through one, with SOURCE_PATH_NOT_FOUND', async () => {
    for (const path of ['absolute.csv', 'relative.csv', 'server-root/secret.csv']) {
      await expect(reader.open({ ...secretFile, path }), path).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
    }
    await expect(reader.listFolder('server-root', { limit: 10 })).rejects.toMatchObject({
      code: 'SOURCE_PATH_NOT_FOUND',
    });
  });

  it('refuses a listed file swapped for a link of the same size and time', async () => {
    const path = join(folder, 'swapped.csv');
    writeFileSync(path, 'x'.repeat(SECRET.length));
    const listed = await reader.stat('swapped.csv');
    if (listed === undefined) throw new Error('not listed');
    // The link is made beside the file and renamed over it; its target looks like the listed version.
    const seconds = listed.lastModified / 1000;
    utimesSync(join(server.root, 'secret.csv'), seconds, seconds);
    symlinkSync('/secret.csv', join(folder, 'swap-tmp'));
    renameSync(join(folder, 'swap-tmp'), path);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    await expect(reader.open(listed)).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
  });
});
