import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { Flow, SourceConnection, itemsOf } from '../../shared/openapi/response-schemas.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { createProgress } from '../progress.js';

const FLOW_SERVICE = '/data/foundation/flowservice';
/** The landing container the blob trigger watches (the app's `LANDING_CONTAINER` default). */
const DEFAULT_LANDING_CONTAINER = 'landing';

/**
 * `cipherflow upload FILE --flow ID [--as NAME]`: uploads a file where the flow picks it up, the
 * blob name built from the flow's source path under `{org}/{sandbox}/`.
 */
export function registerUpload(program: Command, ctx: CliContext): void {
  program
    .command('upload <file>')
    .description("upload an encrypted file to a flow's landing folder (block upload)")
    .requiredOption('--flow <id>', 'the flow that will ingest the file')
    .option('--as <name>', "the file's name in the landing folder (default: its own name)")
    .option('--container <name>', 'landing container', DEFAULT_LANDING_CONTAINER)
    .option('--container-url <url>', 'the landing container as a SAS URL (default: AZURE_STORAGE_CONNECTION_STRING)')
    .option('--no-progress', 'no progress output')
    .action(
      async (
        file: string,
        opts: { flow: string; as?: string; container: string; containerUrl?: string; progress: boolean },
      ) => {
        const { landingBlobName, landingContainer, uploadFile } = await import('../upload.js');
        const api = await ctx.api();
        const { items: flows } = await api.json(
          'GET',
          `${FLOW_SERVICE}/flows/${encodeURIComponent(opts.flow)}`,
          itemsOf(Flow),
        );
        const sourceId = flows[0]?.sourceConnectionIds[0];
        if (sourceId === undefined) throw new CliError(`flow ${opts.flow} has no source connection`, EXIT.ERROR);
        const { items: sources } = await api.json(
          'GET',
          `${FLOW_SERVICE}/sourceConnections/${encodeURIComponent(sourceId)}`,
          itemsOf(SourceConnection),
        );
        const sourcePath = sources[0]?.params.path;
        if (sourcePath === undefined) throw new CliError(`source connection ${sourceId} has no path`, EXIT.ERROR);

        const target = landingBlobName({
          org: api.config.org,
          sandbox: api.config.sandbox,
          sourcePath,
          file,
          ...(opts.as === undefined ? {} : { preferred: opts.as }),
        });
        const connectionString =
          process.env.AZURE_STORAGE_CONNECTION_STRING ??
          (api.config.mode === 'local' ? 'UseDevelopmentStorage=true' : undefined);
        const container = landingContainer({
          container: opts.container,
          ...(opts.containerUrl === undefined ? {} : { containerUrl: opts.containerUrl }),
          ...(connectionString === undefined ? {} : { connectionString }),
        });
        const total = await stat(file).then(
          (s) => s.size,
          () => undefined,
        );
        const progress = opts.progress ? createProgress({ label: 'upload', total }) : undefined;
        const result = await uploadFile(container, file, target.blobName, (n) => progress?.update(n));
        progress?.finish();
        ctx.print(
          [
            `uploaded ${result.bytes} bytes to ${opts.container}/${target.blobName}`,
            `follow it with: cipherflow runs --flow ${opts.flow} --file ${target.relativePath} --watch`,
          ],
          {
            container: opts.container,
            blobName: target.blobName,
            fileName: target.relativePath,
            etag: result.etag,
            bytes: result.bytes,
          },
        );
      },
    );
}
