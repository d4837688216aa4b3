import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { Flow, SourceConnection, itemsOf } from '../../shared/api/openapi/response-schemas.js';
import type { ApiClient } from '../api-client.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { createProgress } from '../progress.js';

const FLOW_SERVICE = '/data/foundation/flowservice';

const UPLOAD_HELP = `
Where the file goes, in the sandbox's landing zone:
  BLOB_PATH             that path (incoming/a.csv.gpg; ending in / keeps the file's name)
  --flow ID             the flow's folder, named so that the flow picks the file up (--as renames it);
                        with BLOB_PATH, checks that the flow picks that path up
  neither               the file's name at the zone's root

Credential: the zone's SAS, fetched from the API for the logged-in org and sandbox; --container-url
uses a container SAS URL instead, and needs no login unless --flow is given.

Azure may take up to 30 s to apply a refreshed credential, and a 403 cannot tell a credential not
in force yet from a revoked one: so during the first --sas-wait seconds (default 35) of an upload,
storage's 403 is retried with backoff (1, 2, 4, 8 s), the API's credential fetched again before
each retry. A 403 after that fails at once (exit 3): the credential was revoked or has expired.`;

/**
 * `cipherflow upload FILE [BLOB_PATH] [--flow ID [--as NAME]] [--container-url SAS_URL]`: a block
 * upload into the org and sandbox's landing zone with the SAS the API issues.
 */
export function registerUpload(program: Command, ctx: CliContext): void {
  program
    .command('upload <file> [blobPath]')
    .description('upload a file into the landing zone (block upload, streaming), where flows pick it up')
    .option('--flow <id>', 'name the blob so that this flow picks it up (or check BLOB_PATH against it)')
    .option('--as <name>', "with --flow: the file's name in the flow's folder (default: its own name)")
    .option('--container-url <url>', "a container SAS URL to upload to instead of the API's credential")
    .option('--sas-wait <seconds>', 'how long a 403 is retried from the start of the upload (0: never)', parseWait, 35)
    .option('--no-progress', 'no progress output')
    .addHelpText('after', UPLOAD_HELP)
    .action(
      async (
        file: string,
        blobPath: string | undefined,
        opts: { flow?: string; as?: string; containerUrl?: string; sasWait: number; progress: boolean },
      ) => {
        const { assertFlowPicksUp, flowBlobPath, uploadToZone, zoneBlobPath, zoneContainer } =
          await import('../upload.js');
        if (opts.as !== undefined && (opts.flow === undefined || blobPath !== undefined))
          throw new CliError(
            '--as goes with --flow and no BLOB_PATH; otherwise name the blob with BLOB_PATH',
            EXIT.USAGE,
          );
        // Refused before any call: a malformed SAS URL is a usage error.
        if (opts.containerUrl !== undefined) zoneContainer(opts.containerUrl);

        let api: ApiClient | undefined;
        const apiClient = async () => (api ??= await ctx.api());
        let path: string;
        if (opts.flow !== undefined) {
          const sourcePath = await flowSourcePath(await apiClient(), opts.flow);
          if (blobPath === undefined) {
            path = flowBlobPath({ sourcePath, file, ...(opts.as === undefined ? {} : { preferred: opts.as }) });
          } else {
            path = zoneBlobPath(blobPath, file);
            assertFlowPicksUp(sourcePath, path);
          }
        } else {
          path = zoneBlobPath(blobPath, file);
        }

        const containerUrl = opts.containerUrl;
        let sasUrl: () => Promise<string>;
        if (containerUrl !== undefined) {
          sasUrl = () => Promise.resolve(containerUrl);
        } else {
          const { getZoneCredential } = await import('../landing-zone.js');
          const client = await apiClient();
          sasUrl = async () => (await getZoneCredential(client)).SASUri;
        }
        const total = await stat(file).then(
          (s) => s.size,
          () => undefined,
        );
        const progress = opts.progress ? createProgress({ label: 'upload', total }) : undefined;
        const result = await uploadToZone({
          sasUrl,
          file,
          blobPath: path,
          sasWaitMs: opts.sasWait * 1000,
          onProgress: (n) => progress?.update(n),
          onRetry: ({ delayMs, remainingMs }) =>
            ctx.stderr.write(
              `upload: storage refused the credential (HTTP 403), maybe not in force yet after a refresh; retrying in ${Math.ceil(delayMs / 1000)}s (${Math.ceil(remainingMs / 1000)}s left)\n`,
            ),
        });
        progress?.finish();
        ctx.print(
          [
            `uploaded ${result.bytes} bytes to ${result.containerName}/${result.blobPath}`,
            `follow it with: cipherflow runs --flow ${opts.flow ?? 'FLOW_ID'} --file ${result.blobPath} --watch`,
          ],
          {
            container: result.containerName,
            blobName: result.blobPath,
            fileName: result.blobPath,
            etag: result.etag,
            bytes: result.bytes,
          },
        );
      },
    );
}

async function flowSourcePath(api: ApiClient, flowId: string): Promise<string> {
  const { items: flows } = await api.json('GET', `${FLOW_SERVICE}/flows/${encodeURIComponent(flowId)}`, itemsOf(Flow));
  const sourceId = flows[0]?.sourceConnectionIds[0];
  if (sourceId === undefined) throw new CliError(`flow ${flowId} has no source connection`, EXIT.ERROR);
  const { items: sources } = await api.json(
    'GET',
    `${FLOW_SERVICE}/sourceConnections/${encodeURIComponent(sourceId)}`,
    itemsOf(SourceConnection),
  );
  const sourcePath = sources[0]?.params.path;
  if (sourcePath === undefined) throw new CliError(`source connection ${sourceId} has no path`, EXIT.ERROR);
  return sourcePath;
}

/** `--sas-wait SECONDS`: 0 and up. */
function parseWait(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === '')
    throw new CliError(`--sas-wait: not a number of seconds: ${value}`, EXIT.USAGE);
  return n;
}
