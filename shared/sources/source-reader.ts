import type { Readable } from 'node:stream';

/**
 * A customer's storage as the app reads it: an Azure Blob container (or account) or an SFTP
 * server's folder. Paths are relative to the connection's root (the SFTP `folderPath`, the SAS
 * URI's container, or the account of a connection string, whose first segment is then a
 * container), `/`-separated, without a leading `/`: `incoming/a.csv.gpg`. A reader never reads
 * outside its root, never follows a symbolic link, and reports failures as `SourceError`s
 * (`SOURCE_UNREACHABLE`, `SOURCE_AUTH_FAILED`, `SOURCE_HOST_KEY_MISMATCH`,
 * `SOURCE_PATH_NOT_FOUND`, `SOURCE_FILE_CHANGED`, `ADDRESS_NOT_ALLOWED`).
 */
export interface SourceReader {
  /**
   * One page of what lies directly under `folder` (`''`: the root), folders and files, at most
   * `limit` entries; `start` is the previous page's `next`.
   * @throws SOURCE_PATH_NOT_FOUND when `folder` is not a folder.
   */
  listFolder(folder: string, page: { readonly limit: number; readonly start?: string }): Promise<SourcePage>;
  /**
   * Every file under `folder`, a page at a time in bounded memory; with `recursive`, the files of
   * its subfolders too (depth-first, at most {@link MAX_WALK_DEPTH} levels down).
   * @throws SOURCE_PATH_NOT_FOUND when `folder` is not a folder.
   */
  walk(folder: string, options: { readonly recursive: boolean }): AsyncIterable<SourceFile>;
  /** The file at `path`, or `undefined` when there is none (or it is a folder or a link). */
  stat(path: string): Promise<SourceFile | undefined>;
  /**
   * Reads exactly this version of a file as a stream.
   * @throws SOURCE_FILE_CHANGED (at open, or as the stream's error) when the file is no longer
   *   that version, or grows or shrinks while it is read.
   */
  open(file: SourceFile): Promise<Readable>;
  /** Ends the connection (SFTP) or does nothing (Blob). Idempotent. */
  close(): Promise<void>;
}

/** Deepest a recursive walk goes below its folder. */
export const MAX_WALK_DEPTH = 32;

/** One entry of a folder listing. */
export type SourceEntry = SourceFile | SourceFolder;

export interface SourceFolder {
  readonly type: 'folder';
  /** e.g. `incoming/2024` */
  readonly path: string;
  readonly name: string;
}

export interface SourceFile {
  readonly type: 'file';
  /** e.g. `incoming/a.csv.gpg` */
  readonly path: string;
  readonly name: string;
  readonly size: number;
  /** Epoch milliseconds. */
  readonly lastModified: number;
  /**
   * What tells this version from any other of the same path: the blob's ETag (unquoted), or on
   * SFTP the modification time and size (`{mtimeSeconds}-{size}`).
   */
  readonly version: string;
}

export interface SourcePage {
  readonly entries: readonly SourceEntry[];
  /** Send back as `start` for the next page; absent on the last page. */
  readonly next?: string;
}
