import { z } from 'zod';

/**
 * A Table RowKey naming one blob of a landing zone: base64url of `{container}/{blobName}`, since
 * Table keys forbid / \ # ? and control characters, which blob names may hold.
 */
export function landedBlobRowKey(container: string, blobName: string): string {
  return Buffer.from(`${container}/${blobName}`, 'utf8').toString('base64url');
}

/** A landed blob version as stores record it: which blob, which version of it, since when. */
export interface LandedFileRecord {
  readonly container: string;
  readonly blobName: string;
  /** The version (absent on records written before versions were kept). */
  readonly etag?: string;
  readonly since: string;
}

/** The row columns of a {@link LandedFileRecord}: RowKey from the blob, its ETag as `blobETag`. */
export const LandedFileColumns = z.object({
  rowKey: z.string(),
  container: z.string(),
  blobName: z.string(),
  blobETag: z.string().optional(),
  since: z.string(),
});

/** A record's columns (the row's own `etag` is the table's, so the blob's is `blobETag`). */
export function landedFileColumns(file: LandedFileRecord): z.input<typeof LandedFileColumns> {
  return {
    rowKey: landedBlobRowKey(file.container, file.blobName),
    container: file.container,
    blobName: file.blobName,
    ...(file.etag === undefined ? {} : { blobETag: file.etag }),
    since: file.since,
  };
}

/** The record read back from its parsed columns. */
export function landedFileOf(e: z.output<typeof LandedFileColumns>): LandedFileRecord {
  return {
    container: e.container,
    blobName: e.blobName,
    ...(e.blobETag === undefined ? {} : { etag: e.blobETag }),
    since: e.since,
  };
}
