import type { Command } from 'commander';
import { BaseConnection, FlowServiceCreated, itemsOf } from '../../shared/api/openapi/response-schemas.js';
import {
  CONNECTIONS,
  describeConnection,
  explorePage,
  getConnection,
  planConnection,
  readPrivateKeyFile,
  type CreateConnectionOptions,
  type ExploreItem,
} from '../connections.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { readStdinSecret } from '../stdin-secret.js';

const CREATE_HELP = `
Secrets never go on the command line: a password, a connection string or a key's passphrase is
read from stdin (a pipe or a file, e.g. --password-stdin < password.txt), and --key reads the
private key file (OpenSSH or PEM) and sends it Base64-encoded. A SAS URI is a flag, as Adobe's API
takes it: give it read and list rights (sp=rl) on the container and nothing more.

The connection is tried before it is stored. For SFTP, the server's host key is pinned: the
--host-key-fingerprint given, or the one seen now, which create prints: compare it with
ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub (or the server's other host keys) on the server.`;

/**
 * `cipherflow connections create|list|show|explore|delete`: base connections to the customer's
 * own Azure Blob container or SFTP server, which `flows create --connection` reads on a schedule.
 */
export function registerConnections(program: Command, ctx: CliContext): void {
  const connections = program
    .command('connections')
    .description('your own Azure Blob container or SFTP server, read by scheduled flows (flows create --connection)');

  connections
    .command('create')
    .description('create a connection (tried first; an SFTP host key is pinned and printed)')
    .option('--azure-blob', 'an Azure Blob container or account')
    .option('--sas-uri <uri>', 'with --azure-blob: a SAS URI granting read and list (sp=rl)')
    .option('--connection-string-stdin', 'with --azure-blob: read a storage connection string from stdin')
    .option(
      '--container <name>',
      'with --azure-blob: the container (when the SAS or connection string is for the account)',
    )
    .option('--sftp', 'an SFTP server')
    .option('--host <host>', 'with --sftp: host name or IP address')
    .option('--port <port>', 'with --sftp: port (default 22)', parsePort)
    .option('--user <name>', 'with --sftp: user name')
    .option('--password-stdin', 'with --sftp: read the password from stdin')
    .option('--key <file>', 'with --sftp: log in with this private key file (OpenSSH or PEM)')
    .option('--passphrase-stdin', "with --key: read the key's passphrase from stdin")
    .option('--host-key-fingerprint <SHA256:...>', 'with --sftp: pin this host key (default: the one seen now)')
    .option('--folder <path>', 'the folder the connection is rooted at (files and paths are below it)')
    .option('--name <name>', 'connection name (default: from the host or container)')
    .addHelpText('after', CREATE_HELP)
    .action(async (opts: CreateConnectionOptions) => {
      const plan = planConnection(opts);
      const privateKey = plan.keyFile === undefined ? undefined : await readPrivateKeyFile(plan.keyFile);
      const stdin = plan.stdinOption === undefined ? undefined : await readStdinSecret(plan.stdinOption);
      const api = await ctx.api();
      const body = plan.request({
        ...(stdin === undefined ? {} : { stdin }),
        ...(privateKey === undefined ? {} : { privateKey }),
      });
      const created = await api.json('POST', CONNECTIONS, FlowServiceCreated, body);
      const connection = await getConnection(api, created.id);
      const { kind, where } = describeConnection(connection);
      const fingerprint = connection.auth.params.hostKeyFingerprint;
      ctx.print(
        [
          `created connection ${connection.id} (${kind}, ${where})`,
          ...(typeof fingerprint === 'string'
            ? [
                opts.hostKeyFingerprint === undefined
                  ? `host key: ${fingerprint} (recorded now: compare it with ssh-keygen -lf on the server's host keys)`
                  : `host key: ${fingerprint} (pinned as given)`,
              ]
            : []),
          `use it with: cipherflow flows create --connection ${connection.id} --path '/FOLDER/*.csv.gpg' --schedule hour ...`,
        ],
        connection,
      );
    });

  connections
    .command('list')
    .description('list the connections of the org and sandbox (never their secrets)')
    .action(async () => {
      const { items } = await (await ctx.api()).json('GET', CONNECTIONS, itemsOf(BaseConnection));
      ctx.print(
        items.length === 0
          ? ['no connections']
          : items.map((c) => {
              const { kind, where } = describeConnection(c);
              return `${c.id}  ${kind.padEnd(10)} ${where}  ${c.name}`;
            }),
        items,
      );
    });

  connections
    .command('show <id>')
    .description('show a connection: where it points and its pinned host key, never its secrets')
    .action(async (id: string) => {
      const connection = await getConnection(await ctx.api(), id);
      const { kind, where } = describeConnection(connection);
      ctx.print(
        [
          `id:    ${connection.id}`,
          `name:  ${connection.name}`,
          `type:  ${kind} (${connection.auth.specName})`,
          `where: ${where}`,
          ...Object.entries(connection.auth.params).map(([key, value]) => `  ${key}: ${value}`),
        ],
        connection,
      );
    });

  connections
    .command('explore <id> [path]')
    .description("list the files and folders at the connection's root, or in PATH below it")
    .option('--limit <n>', 'items per page (default 100, at most 1000)', parseLimit)
    .option('--all', 'every page, not only the first')
    .action(async (id: string, path: string | undefined, opts: { limit?: number; all?: boolean }) => {
      const api = await ctx.api();
      const items: ExploreItem[] = [];
      let start: string | undefined;
      let more: boolean;
      do {
        const page = await explorePage(api, id, {
          ...(path === undefined ? {} : { path }),
          ...(opts.limit === undefined ? {} : { limit: opts.limit }),
          ...(start === undefined ? {} : { start }),
        });
        items.push(...page.items);
        start = page.next;
        more = start !== undefined;
      } while (opts.all === true && more);
      ctx.print(items.length === 0 ? ['nothing here'] : items.map((i) => `${i.type.padEnd(6)} ${i.path}`), items);
      if (more) ctx.stderr.write('more items: --all lists every page\n');
    });

  connections
    .command('delete <id>')
    .description('delete a connection and its stored credential (refused while a flow uses it)')
    .action(async (id: string) => {
      await (await ctx.api()).send('DELETE', `${CONNECTIONS}/${encodeURIComponent(id)}`);
      ctx.print(`deleted connection ${id}`, { id, deleted: true });
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || n < 1 || n > 65535)
    throw new CliError(`--port: not a port number: ${value}`, EXIT.USAGE);
  return n;
}

function parseLimit(value: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(value)) throw new CliError(`--limit: not a number from 1: ${value}`, EXIT.USAGE);
  return Number(value);
}
