/**
 * `npm run upload -- FILE BLOB_NAME [--container landing]`: uploads a file to the local Azurite
 * (what a customer does with Azure Storage Explorer, azcopy or the Storage SDK), streaming it in
 * blocks. The connection string defaults to Azurite's development account.
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { storageConnectionString } from './runtime/settings.js';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { container: { type: 'string', default: process.env.LANDING_CONTAINER ?? 'landing' } },
  });
  const [file, blobName] = positionals;
  if (file === undefined || blobName === undefined) {
    process.stderr.write('usage: npm run upload -- FILE BLOB_NAME [--container landing]\n');
    process.exit(2);
  }
  const connection = storageConnectionString({ AzureWebJobsStorage: process.env.AzureWebJobsStorage ?? 'UseDevelopmentStorage=true' }, undefined);
  const container = BlobServiceClient.fromConnectionString(connection).getContainerClient(values.container);
  await container.createIfNotExists();
  const { size } = await stat(file);
  const result = await container.getBlockBlobClient(blobName).uploadFile(file, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
  process.stdout.write(`uploaded ${size} bytes to ${values.container}/${blobName} (etag ${result.etag ?? '?'})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`upload failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
