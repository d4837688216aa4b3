import { createHash } from 'node:crypto';

/** What identifies one version of one landed file for one flow. */
export interface RunKey {
  readonly flowId: string;
  /** The blob's name in its landing zone's container. */
  readonly fileName: string;
  /** The blob's ETag, quoted (`"0x8DC..."`) or not: both forms give the same run id. */
  readonly blobETag: string;
}

/**
 * The run id of a blob version: a UUIDv8 (RFC 9562 §5.8) from SHA-256 over the flow id, the blob
 * name and its ETag. The same blob version always gives the same id, so a redelivered trigger finds
 * the run it started instead of making a second one; a rewritten blob (new ETag) is a new run.
 */
export function runIdFor(key: RunKey): string {
  // JSON of an array is an unambiguous encoding of the three strings (no separator collisions).
  const input = JSON.stringify(['cipherflow.flowservice.run.v1', key.flowId, key.fileName, unquoteETag(key.blobETag)]);
  const bytes = createHash('sha256').update(input, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function unquoteETag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}
