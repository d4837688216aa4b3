import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  createReadStream,
  mkdirSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../shared/errors.js';
import {
  createSftpReader,
  sftpFingerprint,
  type SftpReaderOptions,
  type SftpSource,
} from '../../shared/sources/sftp-reader.js';
import type { SourceEntry, SourceFile, SourceReader } from '../../shared/sources/source-reader.js';
import { loopbackGuard } from '../support/loopback-guard.js';
import { sftpSource, startSftpServer, type SftpServer } from '../support/sftp-server.js';

let server: SftpServer;
const readers: SourceReader[] = [];
let folders = 0;

beforeAll(async () => {
  server = await startSftpServer();
});
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await server?.stop();
});

/** A fresh folder under the user's `/upload`: its local path and its path on the server. */
function folder(): { local: string; remote: string } {
  const name = `t${++folders}`;
  const local = join(server.root, 'upload', name);
  mkdirSync(local);
  return { local, remote: `/upload/${name}` };
}

/** A reader that the test closes afterwards; pinned to the server's host key unless `options` says otherwise. */
function reader(source: SftpSource, options: Partial<SftpReaderOptions> = {}): SourceReader {
  const r = createSftpReader(source, {
    guard: loopbackGuard(),
    hostKey: { fingerprint: server.hostKeyFingerprint },
    timeoutMs: 10_000,
    ...options,
  });
  readers.push(r);
  return r;
}

async function sha256(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const address = s.address();
  await new Promise((resolve) => s.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

const names = (entries: readonly SourceEntry[]) => entries.map((e) => e.name).sort();

describe('logging in', () => {
  it('logs in with the password and lists the folder', async () => {
    const { local, remote } = folder();
    writeFileSync(join(local, 'a.csv.gpg'), 'hello');
    const page = await reader(sftpSource(server, remote)).listFolder('', { limit: 10 });
    expect(page).toEqual({
      entries: [
        {
          type: 'file',
          path: 'a.csv.gpg',
          name: 'a.csv.gpg',
          size: 5,
          lastModified: expect.any(Number) as number,
          version: expect.stringMatching(/^\d+-5$/) as string,
        },
      ],
    });
  });

  it('logs in with a private key', async () => {
    const { local, remote } = folder();
    writeFileSync(join(local, 'k.txt'), 'key');
    const r = reader(sftpSource(server, remote, { kind: 'privateKey', privateKey: server.privateKey }));
    expect(names((await r.listFolder('', { limit: 10 })).entries)).toEqual(['k.txt']);
  });

  it('logs in with an encrypted private key and its passphrase', async () => {
    const { local, remote } = folder();
    writeFileSync(join(local, 'e.txt'), 'enc');
    const auth = { kind: 'privateKey', privateKey: server.encryptedPrivateKey, passPhrase: server.passphrase } as const;
    expect(names((await reader(sftpSource(server, remote, auth)).listFolder('', { limit: 10 })).entries)).toEqual([
      'e.txt',
    ]);
  });

  it('refuses a wrong password with SOURCE_AUTH_FAILED, never quoting it', async () => {
    const password = `wrong-${randomBytes(6).toString('hex')}`;
    const err = await reader(sftpSource(server, '/upload', { kind: 'password', password }))
      .listFolder('', { limit: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ code: 'SOURCE_AUTH_FAILED' });
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain(password);
  });

  it('refuses a wrong user name with SOURCE_AUTH_FAILED', async () => {
    const source = { ...sftpSource(server, '/upload'), userName: 'nobody-here' };
    await expect(reader(source).listFolder('', { limit: 1 })).rejects.toMatchObject({ code: 'SOURCE_AUTH_FAILED' });
  });

  it('refuses an encrypted key with a wrong or missing passphrase with SOURCE_AUTH_FAILED, never quoting either', async () => {
    for (const passPhrase of ['not the passphrase', undefined]) {
      const auth = {
        kind: 'privateKey',
        privateKey: server.encryptedPrivateKey,
        ...(passPhrase === undefined ? {} : { passPhrase }),
      } as const;
      const err = await reader(sftpSource(server, '/upload', auth))
        .listFolder('', { limit: 1 })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SOURCE_AUTH_FAILED' });
      const detail = (err as SourceError).detail;
      expect(detail).not.toContain('not the passphrase');
      expect(detail).not.toContain('PRIVATE KEY');
    }
  });

  it('refuses a key the server does not know with SOURCE_AUTH_FAILED', async () => {
    const other = await startSftpServer();
    try {
      const auth = { kind: 'privateKey', privateKey: other.privateKey } as const;
      await expect(reader(sftpSource(server, '/upload', auth)).listFolder('', { limit: 1 })).rejects.toMatchObject({
        code: 'SOURCE_AUTH_FAILED',
      });
    } finally {
      await other.stop();
    }
  });

  it('reports a closed port as SOURCE_UNREACHABLE', async () => {
    const source = { ...sftpSource(server, '/upload'), port: await closedPort() };
    await expect(reader(source).listFolder('', { limit: 1 })).rejects.toMatchObject({ code: 'SOURCE_UNREACHABLE' });
  });

  it('reports a server that never speaks SSH as SOURCE_UNREACHABLE within the timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const address = silent.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const started = Date.now();
      await expect(
        reader({ ...sftpSource(server, '/upload'), port }, { timeoutMs: 1_000 }).listFolder('', { limit: 1 }),
      ).rejects.toMatchObject({ code: 'SOURCE_UNREACHABLE' });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.close();
    }
  });

  it('connects only to the address the guard returned, and only when first used', async () => {
    const guard = loopbackGuard();
    const r = reader({ ...sftpSource(server, '/upload'), host: 'localhost' }, { guard });
    expect(guard.checks).toEqual([]);
    await r.listFolder('', { limit: 1 });
    await r.stat('nothing');
    expect(guard.checks).toEqual(['localhost']);
  });

  it('makes one attempt for concurrent first calls, so a wrong password is tried once', async () => {
    const guard = loopbackGuard();
    const before = server.log().length;
    const r = reader(sftpSource(server, '/upload', { kind: 'password', password: 'wrong' }), { guard });
    const results = await Promise.allSettled([r.listFolder('', { limit: 1 }), r.stat('a'), r.stat('b')]);
    expect(results.map((x) => (x.status === 'rejected' ? (x.reason as SourceError).code : 'ok'))).toEqual([
      'SOURCE_AUTH_FAILED',
      'SOURCE_AUTH_FAILED',
      'SOURCE_AUTH_FAILED',
    ]);
    expect(guard.checks).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      server
        .log()
        .slice(before)
        .match(/Failed password/g),
    ).toHaveLength(1);
  });

  it('connects again on the next call after the server dropped the connection', async () => {
    const guard = loopbackGuard();
    const before = server.log().length;
    const r = reader(sftpSource(server, '/upload'), { guard });
    await r.listFolder('', { limit: 1 });
    // sshd names the process that serves the session; ending it drops the connection.
    const pid = /User child is on pid (\d+)/.exec(server.log().slice(before))?.[1];
    if (pid === undefined) throw new Error('sshd did not log the session process');
    process.kill(Number(pid), 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(r.listFolder('', { limit: 1 })).resolves.toBeDefined();
    expect(guard.checks).toHaveLength(2);
  });

  it('passes on the guard refusal (ADDRESS_NOT_ALLOWED) without connecting', async () => {
    const source = { ...sftpSource(server, '/upload'), host: '169.254.169.254' };
    await expect(reader(source).listFolder('', { limit: 1 })).rejects.toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
  });
});

describe('the host key', () => {
  it('has the fingerprint ssh-keygen prints, computed from the key blob', () => {
    const blob = Buffer.from(server.hostPublicKey.split(' ')[1] ?? '', 'base64');
    expect(server.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(sftpFingerprint(blob)).toBe(server.hostKeyFingerprint);
  });

  it('connects when the pinned fingerprint matches', async () => {
    await expect(reader(sftpSource(server, '/upload')).listFolder('', { limit: 1 })).resolves.toBeDefined();
  });

  it('refuses another pinned fingerprint with SOURCE_HOST_KEY_MISMATCH', async () => {
    const fingerprint = sftpFingerprint(randomBytes(51));
    const r = reader(sftpSource(server, '/upload'), { hostKey: { fingerprint } });
    const err = await r.listFolder('', { limit: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SOURCE_HOST_KEY_MISMATCH' });
    expect((err as SourceError).detail).toContain(server.hostKeyFingerprint);
  });

  it('without a pin, tells onSeen the fingerprint ssh-keygen prints', async () => {
    const seen: string[] = [];
    const r = reader(sftpSource(server, '/upload'), { hostKey: { onSeen: (f) => seen.push(f) } });
    await r.listFolder('', { limit: 1 });
    expect(seen).toEqual([server.hostKeyFingerprint]);
  });
});

describe('listing and walking', () => {
  it('pages a folder 10, 10, 5 with next tokens, folders and files typed, links left out', async () => {
    const { local, remote } = folder();
    for (let i = 0; i < 23; i++) writeFileSync(join(local, `f${String(i).padStart(2, '0')}.gpg`), 'x'.repeat(i));
    mkdirSync(join(local, 'sub1'));
    mkdirSync(join(local, 'sub2'));
    symlinkSync('f00.gpg', join(local, 'link-to-file'));
    symlinkSync('sub1', join(local, 'link-to-folder'));
    const r = reader(sftpSource(server, remote));
    const pages: SourceEntry[][] = [];
    let start: string | undefined;
    do {
      const page = await r.listFolder('', { limit: 10, ...(start === undefined ? {} : { start }) });
      pages.push([...page.entries]);
      start = page.next;
    } while (start !== undefined);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    const all = pages.flat();
    expect(new Set(all.map((e) => e.path)).size).toBe(25);
    expect(all.filter((e) => e.type === 'folder')).toEqual(
      expect.arrayContaining([
        { type: 'folder', path: 'sub1', name: 'sub1' },
        { type: 'folder', path: 'sub2', name: 'sub2' },
      ]),
    );
    const files = all.filter((e): e is SourceFile => e.type === 'file');
    expect(files).toHaveLength(23);
    for (const f of files) {
      expect(f.size).toBe(Number(f.name.slice(1, 3)));
      expect(f.version).toBe(`${Math.floor(f.lastModified / 1000)}-${f.size}`);
    }
    expect(all.map((e) => e.name)).not.toContain('link-to-file');
    expect(all.map((e) => e.name)).not.toContain('link-to-folder');
  });

  it('lists a subfolder with paths relative to the root, and a relative folderPath the same way', async () => {
    const { local, remote } = folder();
    mkdirSync(join(local, 'in', '2024'), { recursive: true });
    writeFileSync(join(local, 'in', '2024', 'a.gpg'), 'a');
    for (const folderPath of [remote, remote.slice(1), `${remote}/`, `/${remote}//./`]) {
      const page = await reader(sftpSource(server, folderPath)).listFolder('in', { limit: 10 });
      expect(page.entries).toEqual([{ type: 'folder', path: 'in/2024', name: '2024' }]);
    }
  });

  it('walks the folder alone, or its subfolders too (depth-first, files only)', async () => {
    const { local, remote } = folder();
    mkdirSync(join(local, 'sub', 'deeper'), { recursive: true });
    mkdirSync(join(local, 'empty'));
    writeFileSync(join(local, 'a.gpg'), 'a');
    writeFileSync(join(local, 'b.gpg'), 'b');
    writeFileSync(join(local, 'sub', 'c.gpg'), 'c');
    writeFileSync(join(local, 'sub', 'deeper', 'd.gpg'), 'd');
    const r = reader(sftpSource(server, remote));
    const walked = async (f: string, recursive: boolean) => {
      const paths: string[] = [];
      for await (const file of r.walk(f, { recursive })) paths.push(file.path);
      return paths;
    };
    expect((await walked('', false)).sort()).toEqual(['a.gpg', 'b.gpg']);
    const all = await walked('', true);
    expect([...all].sort()).toEqual(['a.gpg', 'b.gpg', 'sub/c.gpg', 'sub/deeper/d.gpg']);
    // Depth-first: everything under sub/ comes together.
    const inSub = all.map((p, i) => (p.startsWith('sub/') ? i : -1)).filter((i) => i >= 0);
    expect(inSub[1]).toBe((inSub[0] ?? 0) + 1);
    expect(await walked('sub', true)).toEqual(expect.arrayContaining(['sub/c.gpg', 'sub/deeper/d.gpg']));
    expect(await walked('sub', false)).toEqual(['sub/c.gpg']);
  });

  it('skips a link loop and a link out of the folder: the walk ends and lists only real files', async () => {
    const { local, remote } = folder();
    mkdirSync(join(local, 'sub'));
    writeFileSync(join(local, 'sub', 'real.gpg'), 'r');
    symlinkSync('.', join(local, 'loop'));
    symlinkSync('../..', join(local, 'out'));
    symlinkSync('..', join(local, 'sub', 'up'));
    const r = reader(sftpSource(server, remote));
    const paths: string[] = [];
    for await (const file of r.walk('', { recursive: true })) paths.push(file.path);
    expect(paths).toEqual(['sub/real.gpg']);
    expect(names((await r.listFolder('', { limit: 100 })).entries)).toEqual(['sub']);
    expect(await r.stat('loop')).toBeUndefined();
    expect(await r.stat('loop/sub/real.gpg')).toBeUndefined();
    await expect(r.listFolder('loop', { limit: 10 })).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
    await expect(r.listFolder('out', { limit: 10 })).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
    const walkOut = async () => {
      for await (const file of r.walk('sub/up', { recursive: true })) expect.fail(`walked ${file.path}`);
    };
    await expect(walkOut()).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
  });

  it("refuses '..' in any path, and in the folderPath before connecting, with SOURCE_PATH_NOT_FOUND", async () => {
    const r = reader(sftpSource(server, '/upload'));
    const refused = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
      expect((err as SourceError).detail).toContain("'..'");
    };
    await refused(r.listFolder('..', { limit: 1 }));
    await refused(r.listFolder('a/../..', { limit: 1 }));
    await refused(r.stat('../etc/passwd'));
    await refused(r.open({ type: 'file', path: '../x', name: 'x', size: 1, lastModified: 0, version: '0-1' }));
    await refused(
      (async () => {
        for await (const f of r.walk('sub/..', { recursive: true })) expect.fail(f.path);
      })(),
    );
    const guard = loopbackGuard();
    await refused(reader(sftpSource(server, '/upload/..'), { guard }).listFolder('', { limit: 1 }));
    expect(guard.checks).toEqual([]);
  });

  it('answers undefined for a missing path, a folder or a link, and SOURCE_PATH_NOT_FOUND for a missing folder', async () => {
    const { local, remote } = folder();
    mkdirSync(join(local, 'sub'));
    writeFileSync(join(local, 'a.gpg'), 'abc');
    symlinkSync('a.gpg', join(local, 'link.gpg'));
    const r = reader(sftpSource(server, remote));
    expect(await r.stat('missing.gpg')).toBeUndefined();
    expect(await r.stat('missing/a.gpg')).toBeUndefined();
    expect(await r.stat('sub')).toBeUndefined();
    expect(await r.stat('link.gpg')).toBeUndefined();
    expect(await r.stat('')).toBeUndefined();
    expect(await r.stat('a.gpg')).toMatchObject({ type: 'file', path: 'a.gpg', name: 'a.gpg', size: 3 });
    await expect(r.listFolder('missing', { limit: 1 })).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
    await expect(r.listFolder('a.gpg', { limit: 1 })).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
    const missingRoot = reader(sftpSource(server, `${remote}/nope`));
    await expect(missingRoot.listFolder('', { limit: 1 })).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
  });
});

describe('reading a file', () => {
  it('streams the exact bytes of a 5 MiB file', async () => {
    const { local, remote } = folder();
    const path = join(local, 'big.bin');
    writeFileSync(path, randomBytes(5 * 1024 * 1024 + 7));
    const r = reader(sftpSource(server, remote));
    const file = await r.stat('big.bin');
    if (file === undefined) throw new Error('no file');
    const stream = await r.open(file);
    expect(stream.readableHighWaterMark).toBeGreaterThanOrEqual(64 * 1024);
    expect(await sha256(stream)).toBe(await sha256(createReadStream(path)));
  });

  it('streams an empty file', async () => {
    const { local, remote } = folder();
    writeFileSync(join(local, 'empty.gpg'), '');
    const r = reader(sftpSource(server, remote));
    const file = await r.stat('empty.gpg');
    if (file === undefined) throw new Error('no file');
    expect(await sha256(await r.open(file))).toBe(createHash('sha256').digest('hex'));
  });

  it('refuses a version that is no longer there with SOURCE_FILE_CHANGED', async () => {
    const { local, remote } = folder();
    const path = join(local, 'a.gpg');
    writeFileSync(path, 'version one');
    const r = reader(sftpSource(server, remote));
    const file = await r.stat('a.gpg');
    if (file === undefined) throw new Error('no file');
    appendFileSync(path, ' and more');
    await expect(r.open(file)).rejects.toMatchObject({ code: 'SOURCE_FILE_CHANGED' });
    // Same size, another time.
    writeFileSync(path, 'version one');
    const again = await r.stat('a.gpg');
    if (again === undefined) throw new Error('no file');
    utimesSync(path, new Date(2001, 0, 1), new Date(2001, 0, 1));
    await expect(r.open(again)).rejects.toMatchObject({ code: 'SOURCE_FILE_CHANGED' });
    await expect(r.open({ ...again, path: 'gone.gpg' })).rejects.toMatchObject({ code: 'SOURCE_PATH_NOT_FOUND' });
  });

  it('fails the stream with SOURCE_FILE_CHANGED when the file grows while it is read', async () => {
    const { local, remote } = folder();
    const path = join(local, 'growing.bin');
    writeFileSync(path, randomBytes(4 * 1024 * 1024));
    const r = reader(sftpSource(server, remote));
    const file = await r.stat('growing.bin');
    if (file === undefined) throw new Error('no file');
    const stream = await r.open(file);
    let received = 0;
    const read = (async () => {
      for await (const chunk of stream) {
        // The first chunk is in; the rest is not yet asked for (back pressure): the file grows now.
        if (received === 0) appendFileSync(path, 'appended while read');
        received += (chunk as Buffer).length;
      }
    })();
    await expect(read).rejects.toMatchObject({ code: 'SOURCE_FILE_CHANGED' });
    expect(received).toBeLessThanOrEqual(file.size);
  });

  it('fails the stream with SOURCE_FILE_CHANGED when the file shrinks while it is read', async () => {
    const { local, remote } = folder();
    const path = join(local, 'shrinking.bin');
    writeFileSync(path, randomBytes(4 * 1024 * 1024));
    const r = reader(sftpSource(server, remote));
    const file = await r.stat('shrinking.bin');
    if (file === undefined) throw new Error('no file');
    const stream = await r.open(file);
    let received = 0;
    const read = (async () => {
      for await (const chunk of stream) {
        if (received === 0) truncateSync(path, 1024 * 1024);
        received += (chunk as Buffer).length;
      }
    })();
    await expect(read).rejects.toMatchObject({ code: 'SOURCE_FILE_CHANGED' });
    expect(received).toBeLessThan(file.size);
  });

  it('reads several files at once over the one connection', async () => {
    const { local, remote } = folder();
    const contents = Array.from({ length: 5 }, () => randomBytes(300_000));
    contents.forEach((c, i) => writeFileSync(join(local, `${i}.bin`), c));
    const guard = loopbackGuard();
    const r = reader(sftpSource(server, remote), { guard });
    const hashes = await Promise.all(
      contents.map(async (_, i) => {
        const file = await r.stat(`${i}.bin`);
        if (file === undefined) throw new Error('no file');
        return sha256(await r.open(file));
      }),
    );
    expect(hashes).toEqual(contents.map((c) => createHash('sha256').update(c).digest('hex')));
    expect(guard.checks).toHaveLength(1);
  });
});

describe('closing', () => {
  it('closes idempotently, and refuses use afterwards', async () => {
    const r = reader(sftpSource(server, '/upload'));
    await r.listFolder('', { limit: 1 });
    await r.close();
    await r.close();
    await expect(r.stat('x')).rejects.toThrow(/closed/);
  });

  it('closes a reader that never connected', async () => {
    await expect(reader(sftpSource(server, '/upload')).close()).resolves.toBeUndefined();
  });
});
