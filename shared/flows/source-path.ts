/**
 * A source connection's `params.path`: where, in the org and sandbox's landing zone container, a
 * flow picks up files. `/<folder>/.../<file>` where the last segment is a
 * concrete file name or a glob (`*` any run of characters, `?` one character; neither crosses `/`).
 *
 * Examples: `/incoming/*.csv.gpg`, `/crm/2024/export-??.json.gpg`, `/drop/customers.csv.gpg`.
 */

/** Longest accepted pattern, in characters (blob names are at most 1024). */
export const SOURCE_PATH_MAX_LENGTH = 1024;
/** Deepest accepted pattern, in segments (folders plus the file segment). */
export const SOURCE_PATH_MAX_SEGMENTS = 16;

// A conservative charset: these segments become blob-name prefixes, so no spaces, no `%`, no `\`.
const FOLDER_SEGMENT = /^[A-Za-z0-9._-]{1,255}$/;
const FILE_SEGMENT = /^[A-Za-z0-9._*?-]{1,255}$/;

/**
 * Why a path was refused, for the caller's `errors[].message`. Messages never quote the input.
 * Returns `undefined` for a valid path.
 */
export function sourcePathProblem(path: string): string | undefined {
  if (path.length > SOURCE_PATH_MAX_LENGTH) return `Must be at most ${SOURCE_PATH_MAX_LENGTH} characters`;
  if (!path.startsWith('/')) return 'Must start with /';
  if (path.includes('\\')) return 'Must not contain a backslash';
  if (path.includes('..')) return 'Must not contain ..';
  const segments = path.slice(1).split('/');
  if (segments.length > SOURCE_PATH_MAX_SEGMENTS) return `Must have at most ${SOURCE_PATH_MAX_SEGMENTS} segments`;
  const file = segments.pop() ?? '';
  if (file === '') return 'Must end with a file name or a pattern such as /folder/*.csv.gpg';
  for (const folder of segments) {
    if (!FOLDER_SEGMENT.test(folder) || folder === '.')
      return 'Folder names may use only letters, digits, ".", "_" and "-"';
  }
  if (!FILE_SEGMENT.test(file) || file === '.')
    return 'The file name or pattern may use only letters, digits, ".", "_", "-", "*" and "?"';
  return undefined;
}

/** True when `path` is a valid source path (see {@link sourcePathProblem}). */
export function isValidSourcePath(path: string): boolean {
  return sourcePathProblem(path) === undefined;
}

/**
 * Whether a blob, named by its path in the zone's container (`incoming/a.csv.gpg`; a leading
 * `/` is tolerated), is one a source path selects. Folders compare exactly (blob names are
 * case-sensitive); the last segment is a glob whose `*` and `?` never match `/`, so
 * `/incoming/*.csv` does not select `incoming/sub/a.csv`. An invalid pattern matches nothing.
 *
 * Linear-time matching (no regular expression is built from the pattern), so a pattern such as
 * `*a*a*a*a*b` cannot make matching backtrack exponentially.
 */
export function matchesSourcePath(pattern: string, relativeBlobPath: string): boolean {
  if (!isValidSourcePath(pattern)) return false;
  const want = pattern.slice(1).split('/');
  const have = (relativeBlobPath.startsWith('/') ? relativeBlobPath.slice(1) : relativeBlobPath).split('/');
  if (want.length !== have.length) return false;
  const last = want.length - 1;
  for (let i = 0; i < last; i++) {
    if (want[i] !== have[i]) return false;
  }
  return globMatch(want[last] ?? '', have[last] ?? '');
}

/** Glob match of one segment (no `/` on either side): greedy with one backtrack point per `*`. Linear time. */
export function globMatch(glob: string, name: string): boolean {
  if (name === '') return false;
  let g = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = glob[g];
    if (c === '?' || (c !== undefined && c !== '*' && c === name[n])) {
      g++;
      n++;
    } else if (c === '*') {
      star = g++;
      resume = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}
