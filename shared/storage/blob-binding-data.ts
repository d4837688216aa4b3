import { z } from 'zod';

/**
 * The content of the model binding data the Functions host passes for an SDK-type blob binding
 * (`sdkBinding: true`; source `AzureStorageBlobs`): which connection, container and blob, so the
 * worker opens the blob itself with the Storage SDK and streams it, instead of receiving bytes.
 */
export interface BlobBindingData {
  readonly connection: string;
  readonly containerName: string;
  readonly blobName: string;
}

export const BLOB_BINDING_SOURCE = 'AzureStorageBlobs';

const Content = z.object({
  Connection: z.string().min(1),
  ContainerName: z.string().min(1),
  BlobName: z.string().min(1),
});

/** Parses the binding data content (JSON bytes). @throws Error when it is not the host's shape. */
export function parseBlobBindingData(content: Uint8Array | null | undefined): BlobBindingData {
  if (content === null || content === undefined) throw new Error('Blob binding data has no content');
  const parsed = Content.parse(JSON.parse(Buffer.from(content).toString('utf8')));
  return { connection: parsed.Connection, containerName: parsed.ContainerName, blobName: parsed.BlobName };
}
