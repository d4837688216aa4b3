/**
 * A Table RowKey naming one blob of a landing zone: base64url of `{container}/{blobName}`, since
 * Table keys forbid / \ # ? and control characters, which blob names may hold.
 */
export function landedBlobRowKey(container: string, blobName: string): string {
  return Buffer.from(`${container}/${blobName}`, 'utf8').toString('base64url');
}
