/** Adobe's explore answer, shared by the landing zone's and the base connections' explore. */

/** Items per page when `limit` is absent, and the most a page holds. */
export const DEFAULT_EXPLORE_LIMIT = 100;
export const MAX_EXPLORE_LIMIT = 1000;

/** One entry of Adobe's explore answer. */
export interface ExploreItem {
  readonly type: 'file' | 'folder';
  readonly name: string;
  readonly path: string;
  readonly canPreview: boolean;
  readonly canFetchSchema: boolean;
}

/** One page of items, and the token of the next page (sent back as `start`). */
export interface ExplorePage {
  readonly items: readonly ExploreItem[];
  readonly continuationToken?: string;
}
