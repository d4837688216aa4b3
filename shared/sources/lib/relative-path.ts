/** Longest path a reader accepts, in characters (a blob name is at most 1024; a container adds 64). */
export const MAX_RELATIVE_PATH_LENGTH = 1100;

/**
 * The segments of a path relative to a reader's root (`''` → none; one leading and one trailing
 * `/` tolerated), or `undefined` when the path could name something outside it or nothing at all:
 * a `.` or `..` segment, an empty segment, a backslash, a control character, or over-long.
 *
 * `%` is an ordinary character of a blob name: callers encode each segment once more when they
 * build a URL, so `%2e%2e` stays a literal name and never becomes a dot segment. `.` and `..`
 * must be refused here because URL parsing would resolve them away (`/acct/c/../other`).
 */
export function relativeSegments(path: string): readonly string[] | undefined {
  if (path.length > MAX_RELATIVE_PATH_LENGTH) return undefined;
  if (path.includes('\\')) return undefined;
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return undefined;
  const trimmed = path.replace(/^\//, '').replace(/\/$/, '');
  if (trimmed === '') return [];
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return segments;
}
