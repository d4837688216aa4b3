import { ValidationError } from '../errors.js';
import { ADOBE_ZONE_CONTAINER } from '../flows/source-connections.js';
import { DEFAULT_EXPLORE_LIMIT, type ExploreItem, type ExplorePage } from '../flows/explore-page.js';
import { ensureLandingZone, type LandingZoneDeps } from './landing-zones.js';
import type { SandboxScope } from '../core/scope.js';

/** Adobe's Data Landing Zone connection spec id. */
export const LANDING_ZONE_CONNECTION_SPEC = '26f526f2-58f4-4712-961d-e41bf1ccc0e8';

export { DEFAULT_EXPLORE_LIMIT, MAX_EXPLORE_LIMIT, type ExploreItem, type ExplorePage } from '../flows/explore-page.js';
/** Longest `object` path accepted (blob names are at most 1024 characters). */
export const MAX_EXPLORE_PATH = 1024;

/** What to list: the zone itself (`root`) or the files and folders under `object`, a page at a time. */
export interface ExploreRequest {
  readonly objectType: 'root' | 'folder';
  /** With `folder`: `{containerName}/path/` or `dlz-user-container/path/`. */
  readonly object?: string | undefined;
  /** Items per page, 1..{@link MAX_EXPLORE_LIMIT} (default {@link DEFAULT_EXPLORE_LIMIT}). */
  readonly limit?: number | undefined;
  /** The continuation token of the previous page. */
  readonly start?: string | undefined;
}


/**
 * Lists the caller's zone in Adobe's shape: `root` answers the zone's container as one folder;
 * `folder` answers the files and folders directly under `object`, at most `limit` with a token for
 * the next page. Only the caller's own container is ever listed: `object` is read as a path inside
 * it (its container name, or Adobe's `dlz-user-container`, may lead), and a path that tries to
 * leave it is refused.
 *
 * @throws INVALID_REQUEST for a folder without `object`, or an `object` with `..`, `.`, empty or
 *   percent-encoded separators, a backslash, control characters, a leading `/`, or over-long.
 */
export async function exploreLandingZone(deps: LandingZoneDeps, scope: SandboxScope, query: ExploreRequest): Promise<ExplorePage> {
  const zone = await ensureLandingZone(deps, scope);
  const container = zone.containerName;
  if (query.objectType === 'root') {
    return { items: [{ type: 'folder', name: container, path: `${container}/`, canPreview: false, canFetchSchema: false }] };
  }
  const prefix = folderPrefix(query.object, container);
  const pages = deps.blobs
    .getContainerClient(container)
    .listBlobsByHierarchy('/', { prefix })
    .byPage({ maxPageSize: query.limit ?? DEFAULT_EXPLORE_LIMIT, ...(query.start === undefined ? {} : { continuationToken: query.start }) });
  const page = await pages.next();
  if (page.done === true) return { items: [] };
  const { segment, continuationToken } = page.value;
  const items: ExploreItem[] = [
    ...(segment.blobPrefixes ?? []).map((p): ExploreItem => ({
      type: 'folder',
      name: lastSegment(p.name.slice(0, -1)),
      path: `${container}/${p.name}`,
      canPreview: false,
      canFetchSchema: false,
    })),
    ...segment.blobItems.map((b): ExploreItem => ({
      type: 'file',
      name: lastSegment(b.name),
      path: `${container}/${b.name}`,
      // No preview or schema inference here: files are encrypted until a flow ingests them.
      canPreview: false,
      canFetchSchema: false,
    })),
  ];
  return { items, ...(continuationToken === undefined || continuationToken === '' ? {} : { continuationToken }) };
}

/**
 * The blob-name prefix of the folder `object` names, inside `container` (`''` for its top, else
 * ending in `/`). Pure.
 * @throws INVALID_REQUEST naming `query.object`.
 */
export function folderPrefix(object: string | undefined, container: string): string {
  const refuse = (message: string) => new ValidationError('The explore path is invalid', [{ field: 'query.object', message }]);
  if (object === undefined || object === '') throw refuse('Required with objectType=folder');
  if (object.length > MAX_EXPLORE_PATH) throw refuse(`Must be at most ${MAX_EXPLORE_PATH} characters`);
  if (object.startsWith('/')) throw refuse('Must be relative to the zone: {containerName}/path/');
  if (object.includes('\\')) throw refuse('Must not contain a backslash');
  if (/%(2f|5c|2e)/i.test(object)) throw refuse('Must not contain encoded separators');
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(object)) throw refuse('Must not contain control characters');
  const segments = object.split('/');
  if (segments.at(-1) === '') segments.pop();
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw refuse('Must not contain empty, . or .. segments');
  if (segments[0] === container || segments[0] === ADOBE_ZONE_CONTAINER) segments.shift();
  return segments.length === 0 ? '' : `${segments.join('/')}/`;
}

function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
