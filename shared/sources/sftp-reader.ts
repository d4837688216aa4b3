import type { Readable } from 'node:stream';
import type { Attributes, FileEntry } from 'ssh2';
import { SourceError, ValidationError } from '../errors.js';
import { connectSftp, type SftpReaderOptions, type SftpSource } from './sftp-connect.js';
import { decodePageToken, encodePageToken } from './sftp-page-token.js';
import { isAddressableName, pathSegments, serverPath, sftpRoot, type SftpRoot } from './sftp-path.js';
import { SftpReadStream } from './sftp-read-stream.js';
import { kindOf, versionOf, type SftpSession } from './sftp-session.js';
import {
  MAX_WALK_DEPTH,
  type SourceEntry,
  type SourceFile,
  type SourcePage,
  type SourceReader,
} from './source-reader.js';

export { DEFAULT_SFTP_TIMEOUT_MS, type SftpReaderOptions, type SftpSource } from './sftp-connect.js';
export { sftpFingerprint } from './sftp-fingerprint.js';

/**
 * A {@link SourceReader} over a customer's SFTP server: one SSH connection and one SFTP channel,
 * opened on first use (and again if the server drops it) and held until {@link SourceReader.close}.
 * Callers always close a reader, in a `finally`: nothing else ends its connection.
 *
 * Paths are relative to `source.folderPath`. Symbolic links are never followed: a link (to a file,
 * to a folder, to `.`, to outside the folder) is never listed, walked, stat'ed or opened, and a
 * path through one is not found, so neither a link loop nor a link out of the folder reaches
 * anything. (The check and the use are separate requests: a server that swaps a folder for a
 * link between them is the server's own doing, and `open` compares the opened file's size and
 * time again.) The connection's folder itself may be a link: that is the customer's choice.
 *
 * Memory stays bounded by a folder batch (OpenSSH sends 100 entries at a time) per folder level,
 * whatever the size of a folder or a file.
 *
 * @throws (from every method, as SourceErrors) ADDRESS_NOT_ALLOWED, SOURCE_UNREACHABLE,
 *   SOURCE_AUTH_FAILED and SOURCE_HOST_KEY_MISMATCH when connecting (see `connectSftp`), and
 *   SOURCE_PATH_NOT_FOUND for a path with a `..` segment, a backslash or NUL, or a `folderPath`
 *   with one.
 */
export function createSftpReader(source: SftpSource, options: SftpReaderOptions): SourceReader {
  return new SftpReader(source, options);
}

const NOT_A_FOLDER = 'The folder does not exist on the SFTP server, or is a link or a file';

class SftpReader implements SourceReader {
  #connecting: Promise<SftpSession> | undefined;
  #closed = false;

  constructor(
    private readonly source: SftpSource,
    private readonly options: SftpReaderOptions,
  ) {}

  async listFolder(folder: string, page: { readonly limit: number; readonly start?: string }): Promise<SourcePage> {
    const segments = pathSegments(folder);
    if (!Number.isSafeInteger(page.limit) || page.limit < 1)
      throw new ValidationError('A page holds at least one entry');
    const skip = decodePageToken(page.start);
    const { session, root } = await this.#session();
    await requireFolder(session, root, segments);
    const entries: SourceEntry[] = [];
    for await (const entry of entriesOf(session, serverPath(root, segments))) {
      if (entry.index < skip) continue;
      const listed = entryOf(segments, entry);
      if (listed === undefined) continue;
      // The first entry past a full page is where the next one starts: no `next` without one.
      if (entries.length === page.limit) return { entries, next: encodePageToken(entry.index) };
      entries.push(listed);
    }
    return { entries };
  }

  async *walk(folder: string, options: { readonly recursive: boolean }): AsyncGenerator<SourceFile> {
    const segments = pathSegments(folder);
    const { session, root } = await this.#session();
    await requireFolder(session, root, segments);
    yield* walkFolder(session, root, segments, options.recursive ? MAX_WALK_DEPTH : 0);
  }

  async stat(path: string): Promise<SourceFile | undefined> {
    const segments = pathSegments(path);
    if (segments.length === 0) return undefined;
    const { session, root } = await this.#session();
    const found = await fileAttributes(session, root, segments);
    return found === undefined ? undefined : fileOf(segments, found);
  }

  async open(file: SourceFile): Promise<Readable> {
    const segments = pathSegments(file.path);
    const { session, root } = await this.#session();
    const path = serverPath(root, segments);
    const found = segments.length === 0 ? undefined : await fileAttributes(session, root, segments);
    if (found === undefined) {
      throw new SourceError(
        'SOURCE_PATH_NOT_FOUND',
        'The file does not exist on the SFTP server, or is a link or a folder',
      );
    }
    if (versionOf(found) !== file.version) {
      throw new SourceError('SOURCE_FILE_CHANGED', 'The file is no longer the version that was listed; list it again');
    }
    // SFTP's open follows links: the opened file's own attributes must still be the version lstat saw.
    const handle = await session.open(path);
    try {
      const opened = await session.fstat(handle);
      if (kindOf(opened) !== 'file' || versionOf(opened) !== file.version) {
        throw new SourceError('SOURCE_FILE_CHANGED', 'The file changed as it was opened; list it again');
      }
    } catch (err) {
      await session.closeHandle(handle);
      throw err;
    }
    return new SftpReadStream(session, handle, path, { size: found.size, version: file.version });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connecting = this.#connecting;
    this.#connecting = undefined;
    if (connecting === undefined) return;
    try {
      (await connecting).end();
    } catch {
      // It never connected: nothing to end.
    }
  }

  /**
   * The live session and the checked root. Concurrent first calls share one attempt and its
   * outcome (a refused password is tried once, not once per call: servers lock accounts out);
   * only a session that worked and was then dropped is replaced, on the next call.
   */
  async #session(): Promise<{ session: SftpSession; root: SftpRoot }> {
    if (this.#closed) throw new Error('This SFTP reader is closed');
    // Before any connection: a folderPath with `..` is refused without reaching the server.
    const root = sftpRoot(this.source.folderPath);
    let connecting = this.#connecting;
    if (connecting !== undefined) {
      const session = await connecting;
      if (!session.closed) return { session, root };
      if (this.#connecting === connecting) this.#connecting = undefined;
    }
    connecting = this.#connecting ?? this.#connect();
    const session = await connecting;
    if (this.#closed) {
      // close() ran while this connected: end what it could not.
      session.end();
      throw new Error('This SFTP reader is closed');
    }
    return { session, root };
  }

  #connect(): Promise<SftpSession> {
    const attempt = connectSftp(this.source, this.options);
    this.#connecting = attempt;
    // A failed attempt is not kept: the next call (not the ones waiting on this one) tries again.
    attempt.catch(() => {
      if (this.#connecting === attempt) this.#connecting = undefined;
    });
    return attempt;
  }
}

/** One raw directory entry and its place in the server's order (what a page token counts). */
interface IndexedEntry extends FileEntry {
  readonly index: number;
}

/** Every entry of a folder, one batch in memory at a time; the handle is closed however the loop ends. */
async function* entriesOf(session: SftpSession, path: string): AsyncGenerator<IndexedEntry> {
  const handle = await session.opendir(path);
  let index = 0;
  try {
    for (let batch = await session.readdir(handle); batch !== undefined; batch = await session.readdir(handle)) {
      for (const entry of batch) yield { ...entry, index: index++ };
    }
  } finally {
    await session.closeHandle(handle);
  }
}

/** Depth-first, files only; `depthLeft` levels of subfolders below `segments`. */
async function* walkFolder(
  session: SftpSession,
  root: SftpRoot,
  segments: readonly string[],
  depthLeft: number,
): AsyncGenerator<SourceFile> {
  for await (const entry of entriesOf(session, serverPath(root, segments))) {
    const listed = entryOf(segments, entry);
    if (listed?.type === 'file') yield listed;
    else if (listed?.type === 'folder' && depthLeft > 0) {
      yield* walkFolder(session, root, [...segments, entry.filename], depthLeft - 1);
    }
  }
}

/** A listed entry as the reader shows it; `undefined` for links, other kinds and names it cannot address. */
function entryOf(folder: readonly string[], entry: FileEntry): SourceEntry | undefined {
  if (!isAddressableName(entry.filename)) return undefined;
  const segments = [...folder, entry.filename];
  switch (kindOf(entry.attrs)) {
    case 'file':
      return fileOf(segments, entry.attrs);
    case 'folder':
      return { type: 'folder', path: segments.join('/'), name: entry.filename };
    case 'other':
      return undefined;
  }
}

function fileOf(segments: readonly string[], attrs: Attributes): SourceFile {
  return {
    type: 'file',
    path: segments.join('/'),
    name: segments[segments.length - 1] ?? '',
    size: attrs.size,
    lastModified: attrs.mtime * 1000,
    version: versionOf(attrs),
  };
}

/**
 * The attributes of the regular file at `segments`, or `undefined` when there is none, it is not
 * a regular file, or a folder on its way is a link (or missing). The checks go out together.
 */
async function fileAttributes(
  session: SftpSession,
  root: SftpRoot,
  segments: readonly string[],
): Promise<Attributes | undefined> {
  const [folders, attrs] = await Promise.all([
    foldersAreReal(session, root, segments.slice(0, -1)),
    session.lstat(serverPath(root, segments)),
  ]);
  return folders && attrs !== undefined && kindOf(attrs) === 'file' ? attrs : undefined;
}

/** True when every prefix of `segments` is a folder, not a link to one. */
async function foldersAreReal(session: SftpSession, root: SftpRoot, segments: readonly string[]): Promise<boolean> {
  const found = await Promise.all(segments.map((_, i) => session.lstat(serverPath(root, segments.slice(0, i + 1)))));
  return found.every((attrs) => attrs !== undefined && kindOf(attrs) === 'folder');
}

/**
 * @throws SOURCE_PATH_NOT_FOUND unless `segments` names a folder reached through folders only.
 * The root is stat'ed (followed): it is the connection's folder, which may be a link.
 */
async function requireFolder(session: SftpSession, root: SftpRoot, segments: readonly string[]): Promise<void> {
  const ok =
    segments.length === 0
      ? await session.stat(serverPath(root, [])).then((attrs) => attrs !== undefined && kindOf(attrs) === 'folder')
      : await foldersAreReal(session, root, segments);
  if (!ok) throw new SourceError('SOURCE_PATH_NOT_FOUND', NOT_A_FOLDER);
}
