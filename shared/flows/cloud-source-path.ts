import { folderPathProblem, normaliseFolderPath } from '../sources/folder-path.js';
import { globMatch } from './source-path.js';

/**
 * A cloud source connection's `params.path`: where, below its base connection's root, a flow
 * takes files. `/reports/customers.csv.gpg` (a file), `/reports` or `/reports/` (a folder: its
 * files, and with `recursive` its subfolders' too), `/reports/*.csv.gpg` (a glob in the last
 * segment: `*` any run of characters, `?` one, neither crossing `/`; with `recursive` it matches
 * file names in the subfolders too). Whether `/reports` is a file or a folder is decided when the
 * source is read: a file there is taken alone.
 */
export const CLOUD_SOURCE_PATH_MAX_LENGTH = 1024;

/** Why a cloud source path is refused, or `undefined`. Messages never quote the input. */
export function cloudSourcePathProblem(path: string): string | undefined {
  if (path.length > CLOUD_SOURCE_PATH_MAX_LENGTH) return `Must be at most ${CLOUD_SOURCE_PATH_MAX_LENGTH} characters`;
  if (!path.startsWith('/')) return 'Must start with / (the root of the base connection)';
  const problem = folderPathProblem(path);
  if (problem !== undefined) return problem;
  const segments = normaliseFolderPath(path).split('/');
  const last = segments.pop() ?? '';
  if (segments.some((s) => /[*?]/.test(s))) return 'Only the last segment may hold * or ?';
  if (/[*?]/.test(last) && path.endsWith('/')) return 'A pattern must be the last segment, without a trailing /';
  return undefined;
}

/** What a cloud source path selects, in the reader's terms (paths relative to the root, no leading `/`). */
export interface CloudSelection {
  /** The folder to list (`''`: the root). */
  readonly folder: string;
  /** The glob file names must match; absent: every file. */
  readonly pattern?: string;
  /** A path that may name one file (no pattern, no trailing `/`): taken alone when it is a file. */
  readonly maybeFile?: string;
  readonly recursive: boolean;
}

/** The selection of a valid cloud source path (see {@link cloudSourcePathProblem}). Pure. */
export function cloudSelection(path: string, recursive: boolean): CloudSelection {
  const normalised = normaliseFolderPath(path);
  const slash = normalised.lastIndexOf('/');
  const parent = slash < 0 ? '' : normalised.slice(0, slash);
  const last = normalised.slice(slash + 1);
  if (/[*?]/.test(last)) return { folder: parent, pattern: last, recursive };
  if (normalised === '' || path.endsWith('/')) return { folder: normalised, recursive };
  return { folder: normalised, maybeFile: normalised, recursive };
}

/** Whether a file (path relative to the root) is one the selection takes once its folder is listed. */
export function selects(selection: CloudSelection, filePath: string): boolean {
  const name = filePath.slice(filePath.lastIndexOf('/') + 1);
  return selection.pattern === undefined || globMatch(selection.pattern, name);
}
