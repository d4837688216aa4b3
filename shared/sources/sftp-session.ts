import type { Attributes, Client, FileEntry, SFTPWrapper } from 'ssh2';
import { SourceError } from '../errors.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7) that the session tells apart. */
const STATUS_EOF = 1;
const STATUS_NO_SUCH_FILE = 2;
const STATUS_PERMISSION_DENIED = 3;

/** File type bits of `mode` (POSIX `S_IFMT`), as OpenSSH's sftp-server sends them. */
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** What an entry is to a reader: links, devices, sockets and pipes are all `other`, and skipped. */
export type EntryKind = 'file' | 'folder' | 'other';

/**
 * The kind of an entry from its attributes (from `lstat` or a directory listing, never `stat`, so
 * a link is a link). A file also needs its size and time, from which its version is made.
 */
export function kindOf(attrs: Attributes): EntryKind {
  // ssh2 types every field as present, but a server may leave any out (SFTP flags).
  const mode: unknown = attrs.mode;
  if (typeof mode !== 'number') return 'other';
  if ((mode & S_IFMT) === S_IFDIR) return 'folder';
  const size: unknown = attrs.size;
  const mtime: unknown = attrs.mtime;
  return (mode & S_IFMT) === S_IFREG && typeof size === 'number' && typeof mtime === 'number' ? 'file' : 'other';
}

/** A file's version on SFTP: modification time (whole seconds, all SFTP v3 has) and size. */
export function versionOf(attrs: Attributes): string {
  return `${attrs.mtime}-${attrs.size}`;
}

/**
 * One SSH connection and its SFTP channel, with the calls a reader makes as promises that settle
 * exactly once.
 * @throws (every call) SOURCE_PATH_NOT_FOUND when the server answers "no such file" (where no
 *   value stands for it) or "permission denied"; SOURCE_UNREACHABLE when the connection is gone,
 *   the server fails the request otherwise, or does not answer within the timeout (which also
 *   ends the connection: its state is then unknown).
 */
export class SftpSession {
  #closed = false;

  constructor(
    private readonly client: Client,
    private readonly sftp: SFTPWrapper,
    private readonly timeoutMs: number,
  ) {
    // ssh2 answers a request sent after its channel closed never: so nothing is sent then.
    const markClosed = () => {
      this.#closed = true;
    };
    client.on('close', markClosed);
    sftp.on('close', markClosed);
  }

  /** True once the connection or its channel closed; the reader then connects again. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The entry's attributes without following a link, or `undefined` when there is none. */
  lstat(path: string): Promise<Attributes | undefined> {
    return this.#call((done) => this.sftp.lstat(path, done), { status: STATUS_NO_SUCH_FILE, value: undefined });
  }

  /** The attributes of what `path` names, following links (only for the connection's own folder). */
  stat(path: string): Promise<Attributes | undefined> {
    return this.#call((done) => this.sftp.stat(path, done), { status: STATUS_NO_SUCH_FILE, value: undefined });
  }

  fstat(handle: Buffer): Promise<Attributes> {
    return this.#call<Attributes>((done) => this.sftp.fstat(handle, done));
  }

  opendir(path: string): Promise<Buffer> {
    return this.#call<Buffer>((done) => this.sftp.opendir(path, done));
  }

  /** The next batch of entries of an open folder (`.` and `..` left out), or `undefined` at its end. */
  readdir(handle: Buffer): Promise<readonly FileEntry[] | undefined> {
    return this.#call<readonly FileEntry[], undefined>((done) => this.sftp.readdir(handle, done), {
      status: STATUS_EOF,
      value: undefined,
    });
  }

  open(path: string): Promise<Buffer> {
    return this.#call<Buffer>((done) => this.sftp.open(path, 'r', done));
  }

  /** Reads into `buffer` from `position`; 0 at the end of the file. */
  read(handle: Buffer, buffer: Buffer, position: number): Promise<number> {
    return this.#call<number>((done) =>
      this.sftp.read(handle, buffer, 0, buffer.length, position, (err, bytesRead) => done(err, bytesRead)),
    );
  }

  /** Closes a file or folder handle; a failure to close is no failure of the read that used it. */
  async closeHandle(handle: Buffer): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#call<void>((done) => this.sftp.close(handle, (err) => done(err, undefined)));
    } catch {
      // The handle dies with the connection.
    }
  }

  /** Ends the connection; idempotent. */
  end(): void {
    this.#closed = true;
    this.client.end();
  }

  /** Runs one SFTP request; the `answer` status (NO_SUCH_FILE, EOF) settles it with a value, not an error. */
  #call<T, U = never>(
    start: (done: (err: Error | null | undefined, value: T) => void) => void,
    answer?: { readonly status: number; readonly value: U },
  ): Promise<T | U> {
    if (this.#closed) return Promise.reject(gone());
    return new Promise<T | U>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.end();
        reject(new SourceError('SOURCE_UNREACHABLE', `The SFTP server did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      start((err, value) => {
        clearTimeout(timer);
        if (err === null || err === undefined) return resolve(value);
        const status = statusOf(err);
        if (answer !== undefined && status === answer.status) return resolve(answer.value);
        reject(failure(err, status));
      });
    });
  }
}

function statusOf(err: Error): number | undefined {
  const code: unknown = 'code' in err ? err.code : undefined;
  return typeof code === 'number' ? code : undefined;
}

function gone(cause?: unknown): SourceError {
  return new SourceError('SOURCE_UNREACHABLE', 'The connection to the SFTP server was lost', { cause });
}

/** A failed SFTP request as the reader reports it. */
function failure(err: Error, status: number | undefined): SourceError {
  if (status === STATUS_NO_SUCH_FILE || status === STATUS_PERMISSION_DENIED) {
    return new SourceError(
      'SOURCE_PATH_NOT_FOUND',
      'The path does not exist on the SFTP server, or this user may not read it',
      {
        cause: err,
      },
    );
  }
  if (status === undefined) return gone(err);
  return new SourceError('SOURCE_UNREACHABLE', 'The SFTP server failed the request', { cause: err });
}
