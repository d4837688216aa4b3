/**
 * A folder on a customer's storage as a connection or a request names it: `/`-separated, with no
 * `.` or `..` segment, backslash, control character or encoded separator or dot, so it can never
 * name anything above the root it is taken below. One rule for every source.
 */

/** Why a folder path is refused, or `undefined`. Messages never quote the input. */
export function folderPathProblem(path: string): string | undefined {
  if (path.includes('\\')) return 'Must not contain a backslash';
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'Must not contain control characters';
  if (/%(2f|5c|2e)/i.test(path)) return 'Must not contain encoded separators or dots';
  if (path.split('/').some((s) => s === '..' || s === '.')) return 'Must not contain . or .. segments';
  return undefined;
}

/** `/a//b/` → `a/b`; `/` or `` → ``. */
export function normaliseFolderPath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .join('/');
}
