import type { SandboxScope } from '../core/scope.js';
import { ValidationError } from '../errors.js';
import { folderPathProblem, normaliseFolderPath } from '../sources/folder-path.js';
import { openConnection, type BaseConnectionDeps } from './base-connections.js';
import { DEFAULT_EXPLORE_LIMIT, type ExplorePage } from './explore-page.js';

/** What to list: the connection's root, or the folder `object` (`/path/in/source`), a page at a time. */
export interface ConnectionExploreRequest {
  readonly objectType: 'root' | 'folder';
  readonly object?: string | undefined;
  readonly limit?: number | undefined;
  readonly start?: string | undefined;
}

/**
 * Lists a base connection's storage in Adobe's shape (paths start with `/` and are relative to
 * the connection's root): `root` answers what is directly under the
 * connection's root (its SFTP `folderPath`, its container, or its account's containers);
 * `folder` what is directly under `object`. Nothing outside the root can be named: `..` and `.`
 * segments, backslashes, encoded separators and control characters are refused.
 *
 * @throws INVALID_REQUEST naming `query.object`.
 * @throws NOT_FOUND, SOURCE_PATH_NOT_FOUND, SOURCE_UNREACHABLE, SOURCE_AUTH_FAILED,
 *   SOURCE_HOST_KEY_MISMATCH, ADDRESS_NOT_ALLOWED, CMK_ACCESS_REVOKED.
 */
export async function exploreConnection(
  deps: BaseConnectionDeps,
  scope: SandboxScope,
  id: string,
  query: ConnectionExploreRequest,
): Promise<ExplorePage> {
  const folder = query.objectType === 'root' ? '' : explorePath(query.object);
  const reader = await openConnection(deps, scope, id);
  try {
    const page = await reader.listFolder(folder, {
      limit: query.limit ?? DEFAULT_EXPLORE_LIMIT,
      ...(query.start === undefined ? {} : { start: query.start }),
    });
    return {
      items: page.entries.map((e) => ({ type: e.type, name: e.name, path: `/${e.path}`, canPreview: false, canFetchSchema: false })),
      ...(page.next === undefined ? {} : { continuationToken: page.next }),
    };
  } finally {
    await reader.close();
  }
}

function explorePath(object: string | undefined): string {
  const refuse = (message: string) => new ValidationError('The explore path is invalid', [{ field: 'query.object', message }]);
  if (object === undefined || object === '') throw refuse('Required with objectType=folder');
  const problem = folderPathProblem(object);
  if (problem !== undefined) throw refuse(problem);
  return normaliseFolderPath(object);
}
