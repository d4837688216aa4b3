import { Option, type Command } from 'commander';
import { CompressionType, SourceFormat } from '../../shared/flows/source-connections.js';
import { CatalogReferences, Flow, FlowServiceCreated, itemsOf } from '../../shared/api/openapi/response-schemas.js';
import type { ApiClient } from '../api-client.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { describeSchedule, flowSchedule, parseSchedule, parseStartTime, type ScheduleOption } from '../schedule.js';

const FLOW_SERVICE = '/data/foundation/flowservice';

const CREATE_HELP = `
Where files come from:
  landing zone (default)  --path is where files land in the sandbox's landing zone; each file is
                          ingested as it lands (cipherflow upload --flow ID)
  --connection ID         --path is a file, a folder or a glob in its last segment, below the
                          connection's root (connections create); the flow lists it on --schedule
                          and ingests each new or re-uploaded file, --recursive takes subfolders too`;

/**
 * `cipherflow flows create|list|show|delete`. `create` makes what a dataflow needs in one go: the
 * dataset (unless `--dataset` is an existing id), the source and target connections, and the flow
 * with its Encryption transformation. With `--connection`, the source reads that base connection
 * and the flow runs on `--schedule`.
 */
export function registerFlows(program: Command, ctx: CliContext): void {
  const flows = program
    .command('flows')
    .description('dataflows: where files come from, the key they are encrypted to, and the dataset they go to');

  flows
    .command('create')
    .description('create a dataflow (and its dataset and connections)')
    .requiredOption('--name <name>', 'flow name')
    .requiredOption(
      '--path <pattern>',
      "where files land in the landing zone, e.g. '/incoming/*.csv.gpg'; with --connection, below its root",
    )
    .addOption(new Option('--format <format>', 'file format').choices(SourceFormat.options).default('delimited'))
    .addOption(new Option('--compression <type>', 'compression inside the encryption').choices(CompressionType.options))
    .requiredOption('--dataset <nameOrId>', 'a dataset id (24 hex characters), or a name for a new dataset')
    .requiredOption('--key <publicKeyId>', 'the key pair files are encrypted to')
    .option('--sign-key <publicKeyId>', 'require files signed by this registered customer key')
    .option('--connection <id>', 'read from this connection (connections create) instead of the landing zone')
    .option(
      '--schedule <frequency[:N]>',
      'with --connection: once, minute, hour, day or week, every N (default 1)',
      parseSchedule,
    )
    .option('--start <epochSeconds>', 'with --connection: the first run (default: now)', parseStartTime)
    .option('--recursive', 'with --connection: a folder path takes its subfolders too')
    .addHelpText('after', CREATE_HELP)
    .action(
      async (opts: {
        name: string;
        path: string;
        format: string;
        compression?: string;
        dataset: string;
        key: string;
        signKey?: string;
        connection?: string;
        schedule?: ScheduleOption;
        start?: number;
        recursive?: boolean;
      }) => {
        const scheduleParams = flowSchedule(opts);
        const api = await ctx.api();
        const dataSetId = await datasetIdFor(api, opts.dataset);
        const source = await api.json('POST', `${FLOW_SERVICE}/sourceConnections`, FlowServiceCreated, {
          name: `${opts.name} source`,
          ...(opts.connection === undefined ? {} : { baseConnectionId: opts.connection }),
          data: {
            format: opts.format,
            ...(opts.compression === undefined ? {} : { properties: { compressionType: opts.compression } }),
          },
          params: { path: opts.path, ...(opts.recursive === true ? { recursive: true } : {}) },
        });
        const target = await api.json('POST', `${FLOW_SERVICE}/targetConnections`, FlowServiceCreated, {
          name: `${opts.name} target`,
          params: { dataSetId },
        });
        const flow = await api.json('POST', `${FLOW_SERVICE}/flows`, FlowServiceCreated, {
          name: opts.name,
          sourceConnectionIds: [source.id],
          targetConnectionIds: [target.id],
          transformations: [
            {
              name: 'Encryption',
              params: {
                publicKeyId: opts.key,
                ...(opts.signKey === undefined ? {} : { signVerificationKeyId: opts.signKey }),
              },
            },
          ],
          ...(scheduleParams === undefined ? {} : { scheduleParams }),
        });
        const from =
          opts.connection === undefined || scheduleParams === undefined
            ? `files land under ${opts.path}`
            : `reads ${opts.path}${opts.recursive === true ? ' (and subfolders)' : ''} from connection ${opts.connection}, ${describeSchedule(scheduleParams)}`;
        ctx.print(
          [
            `created flow ${flow.id}`,
            `${from}; dataset ${dataSetId}`,
            ...(opts.connection === undefined ? [] : [`follow it with: cipherflow runs --flow ${flow.id} --watch`]),
          ],
          {
            id: flow.id,
            sourceConnectionId: source.id,
            targetConnectionId: target.id,
            dataSetId,
            ...(opts.connection === undefined ? {} : { baseConnectionId: opts.connection }),
            ...(scheduleParams === undefined ? {} : { scheduleParams }),
          },
        );
      },
    );

  flows
    .command('list')
    .description('list dataflows')
    .action(async () => {
      const { items } = await (await ctx.api()).json('GET', `${FLOW_SERVICE}/flows`, itemsOf(Flow));
      ctx.print(items.length === 0 ? ['no flows'] : items.map((f) => `${f.id}  ${f.state.padEnd(8)} ${f.name}`), items);
    });

  flows
    .command('show <id>')
    .description('show a dataflow')
    .action(async (id: string) => {
      const { items } = await (
        await ctx.api()
      ).json('GET', `${FLOW_SERVICE}/flows/${encodeURIComponent(id)}`, itemsOf(Flow));
      const flow = items[0];
      if (flow === undefined) throw new CliError(`flow ${id} not found`, EXIT.ERROR);
      ctx.print(
        [
          `id:     ${flow.id}`,
          `name:   ${flow.name}`,
          `state:  ${flow.state}`,
          `source: ${flow.sourceConnectionIds.join(', ')}`,
          `target: ${flow.targetConnectionIds.join(', ')}`,
        ],
        flow,
      );
    });

  flows
    .command('delete <id>')
    .description('delete a dataflow')
    .action(async (id: string) => {
      await (await ctx.api()).send('DELETE', `${FLOW_SERVICE}/flows/${encodeURIComponent(id)}`);
      ctx.print(`deleted flow ${id}`, { id, deleted: true });
    });
}

async function datasetIdFor(api: ApiClient, nameOrId: string): Promise<string> {
  const { CATALOG_ID_PATTERN } = await import('../../shared/catalog/datasets.js');
  if (CATALOG_ID_PATTERN.test(nameOrId)) return nameOrId;
  const [ref] = await api.json('POST', '/data/foundation/catalog/dataSets', CatalogReferences, { name: nameOrId });
  const id = ref?.split('/')[2];
  if (id === undefined) throw new CliError('the API created no dataset', EXIT.ERROR);
  return id;
}
