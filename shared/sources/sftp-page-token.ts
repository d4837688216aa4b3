import { ValidationError } from '../errors.js';

/**
 * The `next` token of an SFTP folder listing.
 *
 * SFTP has no continuation token: a folder is read from an open handle, in the server's order, and
 * a handle cannot outlive the request that opened it. So a token holds how many directory entries
 * earlier pages consumed, and the next page opens the folder again and skips that many.
 * Trade-offs: paging through n entries reads O(n²/limit) entries in all (10,000 entries in pages
 * of 1,000 read 55,000), and an entry added or removed between pages can shift the rest, so one
 * may be skipped or seen twice. A listing is a view for people; `walk` (one pass, one handle)
 * is what ingestion uses.
 */

/** Most entries a token may skip: far beyond any folder a person pages through. */
const MAX_POSITION = 10_000_000;

/** The token for a listing that resumes after `position` raw directory entries. */
export function encodePageToken(position: number): string {
  return Buffer.from(JSON.stringify({ p: position }), 'utf8').toString('base64url');
}

/**
 * How many raw directory entries to skip: 0 without a token.
 * @throws INVALID_REQUEST (a ValidationError) when `token` is not one {@link encodePageToken} made.
 */
export function decodePageToken(token: string | undefined): number {
  if (token === undefined) return 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const position = typeof parsed === 'object' && parsed !== null && 'p' in parsed ? parsed.p : undefined;
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0 || position > MAX_POSITION) {
    throw new ValidationError('The page token is not one this folder listing returned');
  }
  return position;
}
