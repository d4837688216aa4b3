import { readFile, stat } from 'node:fs/promises';
import type { z } from 'zod';
import { BaseConnection, ExploreItems, itemsOf } from '../shared/api/openapi/response-schemas.js';
import {
  AZURE_BLOB_CONNECTION_SPEC,
  MAX_PRIVATE_KEY_BASE64,
  SFTP_CONNECTION_SPEC,
} from '../shared/sources/connection-auth.js';
import type { ApiClient } from './api-client.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';

/** Adobe's Flow Service base connections. */
export const CONNECTIONS = '/data/foundation/flowservice/connections';
/** The header explore's next page token comes in; it goes back as `start`. */
const CONTINUATION_HEADER = 'x-continuation-token';
/** Largest key file read: what the API's Base64 limit holds. */
export const MAX_PRIVATE_KEY_FILE_BYTES = Math.floor((MAX_PRIVATE_KEY_BASE64 * 3) / 4);

export type BaseConnection = z.output<typeof BaseConnection>;
export type ExploreItem = z.output<typeof ExploreItems>[number];

/** The flags of `connections create`, as commander parses them. */
export interface CreateConnectionOptions {
  readonly azureBlob?: boolean;
  readonly sasUri?: string;
  readonly connectionStringStdin?: boolean;
  readonly container?: string;
  readonly sftp?: boolean;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly passwordStdin?: boolean;
  readonly key?: string;
  readonly passphraseStdin?: boolean;
  readonly hostKeyFingerprint?: string;
  readonly folder?: string;
  readonly name?: string;
}

/** The secrets that never come as flags: what was piped on stdin, and the key file's bytes. */
export interface ConnectionSecrets {
  readonly stdin?: string;
  readonly privateKey?: Buffer;
}

/** `POST .../connections` body. */
export interface CreateConnectionBody {
  readonly name: string;
  readonly auth: { readonly specName: string; readonly params: Record<string, string | number> };
  readonly connectionSpec: { readonly id: string; readonly version: '1.0' };
}

/** What `connections create` does once its flags are checked. */
export interface ConnectionPlan {
  /** The option whose secret is read from stdin, if any. */
  readonly stdinOption?: '--password-stdin' | '--connection-string-stdin' | '--passphrase-stdin';
  /** The private key file to Base64-encode into `privateKeyContent`, if any. */
  readonly keyFile?: string;
  /** The request body, with the secrets read. */
  request(secrets: ConnectionSecrets): CreateConnectionBody;
}

const SFTP_ONLY = [
  ['host', '--host'],
  ['port', '--port'],
  ['user', '--user'],
  ['passwordStdin', '--password-stdin'],
  ['key', '--key'],
  ['passphraseStdin', '--passphrase-stdin'],
  ['hostKeyFingerprint', '--host-key-fingerprint'],
] as const;
const AZURE_BLOB_ONLY = [
  ['sasUri', '--sas-uri'],
  ['connectionStringStdin', '--connection-string-stdin'],
  ['container', '--container'],
] as const;

/**
 * Checks the flags of `connections create` and says what to read and send. Pure: reads nothing.
 * @throws CliError exit 2 for flags that do not go together or are missing.
 */
export function planConnection(opts: CreateConnectionOptions): ConnectionPlan {
  const usage = (message: string) => new CliError(message, EXIT.USAGE);
  if ((opts.azureBlob === true) === (opts.sftp === true))
    throw usage('say which storage: --azure-blob or --sftp (one of them)');
  const stray = (flags: readonly (readonly [keyof CreateConnectionOptions, string])[], kind: string) => {
    const given = flags.filter(([key]) => opts[key] !== undefined).map(([, flag]) => flag);
    if (given.length > 0) throw usage(`${given.join(', ')} ${given.length === 1 ? 'goes' : 'go'} with ${kind}`);
  };
  const location = (params: Record<string, string | number | undefined>) =>
    Object.fromEntries(Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined));

  if (opts.azureBlob === true) {
    stray(SFTP_ONLY, '--sftp');
    if ((opts.sasUri === undefined) === (opts.connectionStringStdin !== true))
      throw usage('--azure-blob needs --sas-uri URI or --connection-string-stdin (one of them)');
    const name = opts.name ?? `azure blob${opts.container === undefined ? '' : ` ${opts.container}`}`;
    const where = { container: opts.container, folderPath: opts.folder };
    const spec = { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' } as const;
    const sasUri = opts.sasUri;
    if (sasUri !== undefined) {
      return {
        request: () => ({
          name,
          auth: { specName: 'SAS URI Authentication', params: location({ sasUri, ...where }) },
          connectionSpec: spec,
        }),
      };
    }
    return {
      stdinOption: '--connection-string-stdin',
      request: (secrets) => ({
        name,
        auth: {
          specName: 'ConnectionString',
          params: location({ connectionString: required(secrets.stdin), ...where }),
        },
        connectionSpec: spec,
      }),
    };
  }

  stray(AZURE_BLOB_ONLY, '--azure-blob');
  const { host, user } = opts;
  if (host === undefined || user === undefined) throw usage('--sftp needs --host H and --user U');
  if ((opts.key === undefined) === (opts.passwordStdin !== true))
    throw usage('--sftp needs --password-stdin or --key FILE (one of them)');
  if (opts.passphraseStdin === true && opts.key === undefined) throw usage('--passphrase-stdin goes with --key');
  const name = opts.name ?? `sftp ${user}@${host}`;
  const common = {
    host,
    port: opts.port,
    userName: user,
    folderPath: opts.folder,
    hostKeyFingerprint: opts.hostKeyFingerprint,
  };
  const spec = { id: SFTP_CONNECTION_SPEC, version: '1.0' } as const;
  const keyFile = opts.key;
  if (keyFile === undefined) {
    return {
      stdinOption: '--password-stdin',
      request: (secrets) => ({
        name,
        auth: {
          specName: 'Basic Authentication for sftp',
          params: location({ ...common, password: required(secrets.stdin) }),
        },
        connectionSpec: spec,
      }),
    };
  }
  return {
    ...(opts.passphraseStdin === true ? { stdinOption: '--passphrase-stdin' as const } : {}),
    keyFile,
    request: (secrets) => ({
      name,
      auth: {
        specName: 'SSH PublicKey Authentication for sftp',
        params: location({
          ...common,
          privateKeyContent: required(secrets.privateKey).toString('base64'),
          passPhrase: secrets.stdin,
        }),
      },
      connectionSpec: spec,
    }),
  };
}

function required<T>(value: T | undefined): T {
  // planConnection's caller reads what the plan names before it asks for the request.
  if (value === undefined) throw new CliError('a secret the connection needs was not read', EXIT.ERROR);
  return value;
}

/**
 * Reads an SSH private key file (OpenSSH or PEM) for `privateKeyContent`.
 * @throws CliError exit 1 when it cannot be read, is too large, or is not a private key file.
 */
export async function readPrivateKeyFile(path: string): Promise<Buffer> {
  const fail = (message: string, cause?: unknown) => new CliError(message, EXIT.ERROR, { cause });
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw fail(`--key: ${path} is not a file`);
    if (info.size > MAX_PRIVATE_KEY_FILE_BYTES)
      throw fail(`--key: ${path} is larger than a private key file (${MAX_PRIVATE_KEY_FILE_BYTES} bytes at most)`);
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw fail(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, err);
  }
  const text = bytes.toString('utf8').trimStart();
  if (!/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    throw fail(
      `--key: ${path} is not a private key file (-----BEGIN ... PRIVATE KEY-----)` +
        (text.startsWith('PuTTY-User-Key-File') ? '; convert it: puttygen KEY.ppk -O private-openssh -o KEY' : ''),
    );
  }
  return bytes;
}

/** Reads one connection (never its secrets). */
export async function getConnection(api: ApiClient, id: string): Promise<BaseConnection> {
  const { items } = await api.json('GET', `${CONNECTIONS}/${encodeURIComponent(id)}`, itemsOf(BaseConnection));
  const connection = items[0];
  if (connection === undefined) throw new CliError(`connection ${id} not found`, EXIT.ERROR);
  return connection;
}

/**
 * `SFTP` or `Azure Blob`, and where the connection points: `user@host:port/folder` (`/~/folder`
 * below the login folder),
 * `container/folder`, or `(SAS URI)/folder` when only the secret names the container.
 */
export function describeConnection(connection: BaseConnection): { readonly kind: string; readonly where: string } {
  const p = connection.auth.params;
  const text = (key: string) => (typeof p[key] === 'string' || typeof p[key] === 'number' ? String(p[key]) : '');
  const folder = text('folderPath') === '' ? '' : `/${text('folderPath')}`;
  if (connection.connectionSpec.id === SFTP_CONNECTION_SPEC) {
    // An absolute folder as is; a relative one below the login folder, `/~/…` as sftp:// URIs write it.
    const path = text('folderPath');
    return { kind: 'SFTP', where: `${text('userName')}@${text('host')}:${text('port')}${path.startsWith('/') ? path : `/~${path === '' ? '' : `/${path}`}`}` };
  }
  if (connection.connectionSpec.id === AZURE_BLOB_CONNECTION_SPEC) {
    // Without `container`, the container (or account) is named by the secret, which is never shown.
    const via = connection.auth.specName === 'ConnectionString' ? '(connection string)' : '(SAS URI)';
    return { kind: 'Azure Blob', where: `${text('container') === '' ? via : text('container')}${folder}` };
  }
  return { kind: connection.connectionSpec.id, where: '' };
}

/** One page of explore: its items and the next page's token. */
export interface ExplorePage {
  readonly items: readonly ExploreItem[];
  readonly next?: string;
}

/**
 * One page of a connection's root (no `path`) or of the folder `path` (`/daily`, below the
 * connection's root).
 */
export async function explorePage(
  api: ApiClient,
  id: string,
  options: { readonly path?: string; readonly limit?: number; readonly start?: string },
): Promise<ExplorePage> {
  const query = new URLSearchParams();
  if (options.path === undefined || options.path.replace(/\//g, '') === '') {
    query.set('objectType', 'root');
  } else {
    query.set('objectType', 'folder');
    query.set('object', options.path.startsWith('/') ? options.path : `/${options.path}`);
  }
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.start !== undefined) query.set('start', options.start);
  const path = `${CONNECTIONS}/${encodeURIComponent(id)}/explore?${query.toString()}`;
  const res = await api.send('GET', path);
  const parsed = ExploreItems.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) throw new CliError(`unexpected answer from GET ${path}`, EXIT.ERROR);
  const next = res.headers.get(CONTINUATION_HEADER);
  return { items: parsed.data, ...(next === null || next === '' ? {} : { next }) };
}
