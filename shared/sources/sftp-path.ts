import { SourceError } from '../errors.js';

/**
 * Paths on an SFTP server, kept as segments so nothing is ever joined from unchecked text.
 *
 * The API refuses hostile paths before they get here; this is the second line. A segment that is
 * `..`, or that a Windows server would read as `..` (dots and trailing spaces: `...`, `.. `), a
 * backslash (a separator on Windows servers) and NUL (which ends a path inside OpenSSH's
 * sftp-server) are refused in every path given to a reader, and names with them on the server are
 * never listed: a reader cannot name what it could not open.
 */

/** The connection's folder on the server: absolute (`/upload`) or relative to the login folder (`upload`). */
export interface SftpRoot {
  readonly absolute: boolean;
  readonly segments: readonly string[];
}

/** Why any path was refused, said once. */
const REFUSED = "An SFTP path may not contain '..' segments, backslashes or NUL";

/** Whether `name`, one entry of a folder listing, can be addressed (see the module comment). */
export function isAddressableName(name: string): boolean {
  return name !== '' && name !== '.' && !/^\.\.[. ]*$/.test(name) && !/[/\\\0]/.test(name);
}

/**
 * The segments of `path`: `/`-separated, with empty and `.` segments dropped, so a leading `/`
 * still means the root (a reader's paths never leave it).
 * @throws SOURCE_PATH_NOT_FOUND when a segment is `..` (or reads as it) or holds a backslash or NUL.
 */
export function pathSegments(path: string): string[] {
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (!segments.every(isAddressableName)) throw new SourceError('SOURCE_PATH_NOT_FOUND', REFUSED);
  return segments;
}

/**
 * The connection's `folderPath`, normalised (`/upload/`, `//upload/./` → `/upload`; `''` → the
 * login folder).
 * @throws SOURCE_PATH_NOT_FOUND as {@link pathSegments}.
 */
export function sftpRoot(folderPath: string): SftpRoot {
  return { absolute: folderPath.startsWith('/'), segments: pathSegments(folderPath) };
}

/** The path to send to the server for `segments` under `root`. */
export function serverPath(root: SftpRoot, segments: readonly string[]): string {
  const joined = [...root.segments, ...segments].join('/');
  return root.absolute ? `/${joined}` : joined === '' ? '.' : joined;
}
