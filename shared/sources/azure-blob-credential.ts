import { isIP } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import { isLoopbackUrl } from '../core/loopback.js';
import { ValidationError, type FieldError } from '../errors.js';
import { folderPathProblem, normaliseFolderPath } from './folder-path.js';

/**
 * Adobe's Azure Blob source auth (`specName` `ConnectionString` or `SAS URI Authentication`),
 * parsed into where to connect and with what. Pure: nothing is resolved or connected to here.
 */

/** Longest connection string or SAS URI accepted, in characters. */
export const MAX_AZURE_BLOB_SECRET_LENGTH = 4096;
/** Longest `folderPath` accepted, in characters (blob names are at most 1024). */
export const MAX_AZURE_BLOB_FOLDER_PATH_LENGTH = 1024;

/** The auth params as Adobe sends them, with the auth's `specName`. */
export type AzureBlobCredentialInput =
  | ({ readonly specName: 'ConnectionString'; readonly connectionString: string } & AzureBlobLocationInput)
  | ({ readonly specName: 'SAS URI Authentication'; readonly sasUri: string } & AzureBlobLocationInput);

export interface AzureBlobLocationInput {
  readonly container?: string | undefined;
  readonly folderPath?: string | undefined;
}

/**
 * A customer's Azure Blob storage, ready to read. Holds a secret (`credential`): never shown,
 * never logged; {@link describeAzureBlobSource} says which storage it is without it.
 */
export interface AzureBlobSource {
  /** The blob service URL, no trailing `/`, no query: `https://acct.blob.core.windows.net`, `http://127.0.0.1:10000/devstoreaccount1`. */
  readonly endpoint: string;
  /** The endpoint's host name or IP address (IPv6 without brackets): what the outbound guard checks. */
  readonly host: string;
  /** The storage account's name, or the host when a custom domain names none. Not a secret. */
  readonly accountName: string;
  /** The container the reader's root is in; absent: the root is the account and a path's first segment is a container. */
  readonly container?: string;
  /** Folder of the root below the container (or the account): `''` or `a/b`. */
  readonly folderPath: string;
  readonly credential: AzureBlobCredential;
}

/** A SAS (the query string, without `?`) or the account's shared key. */
export type AzureBlobCredential =
  | { readonly kind: 'sas'; readonly query: string }
  | { readonly kind: 'sharedKey'; readonly accountName: string; readonly accountKey: string };

export interface ParseAzureBlobOptions {
  /**
   * Local mode: `http` is accepted for a loopback host (Azurite), and `UseDevelopmentStorage=true`
   * as Azurite's well-known account. Off in production: https only.
   */
  readonly allowLoopbackHttp: boolean;
  /** What "now" is when a SAS's expiry is checked; default the system clock. */
  readonly clock?: Clock;
}

/** What a SAS must grant to be read from: read (r) and list (l). */
export const SAS_READ_LIST_MESSAGE = 'The SAS must grant read and list (sp must include r and l)';

/**
 * Azurite's well-known development account, which `UseDevelopmentStorage=true` names. Public,
 * documented by Microsoft and the same for every Azurite: not a secret.
 */
const DEVELOPMENT_STORAGE = {
  endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
  accountName: 'devstoreaccount1',
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

const DEFAULT_ENDPOINT_SUFFIX = 'core.windows.net';

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const CONTAINER_MESSAGE = 'Must be a container name (3-63 lowercase letters, digits and single hyphens)';
const HTTPS_MESSAGE = 'Must use https';
const LOCAL_HTTP_MESSAGE = 'Must use https (http only for a loopback host in local mode)';

/** The connection string settings read here; the other services' endpoints are allowed and ignored. */
const SETTINGS = [
  'DefaultEndpointsProtocol',
  'AccountName',
  'AccountKey',
  'BlobEndpoint',
  'EndpointSuffix',
  'SharedAccessSignature',
  'UseDevelopmentStorage',
] as const;
type Setting = (typeof SETTINGS)[number];
const IGNORED_SETTINGS = ['queueendpoint', 'tableendpoint', 'fileendpoint'];

type Field = 'connectionString' | 'sasUri' | 'container' | 'folderPath';

/** A value, or why the input was refused (a message that never quotes the input). */
type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const refused = (problem: string): Parsed<never> => ({ ok: false, problem });

/** Where requests go and which account and container (if any) the endpoint or SAS URI names. */
interface Target {
  readonly endpoint: string;
  readonly host: string;
  readonly accountName: string;
  readonly container?: string;
  readonly credential: AzureBlobCredential;
}

/**
 * Parses and checks an Azure Blob source's auth params.
 *
 * - A connection string needs `AccountName` and `AccountKey` (or `SharedAccessSignature`), and
 *   `BlobEndpoint` or `DefaultEndpointsProtocol` with `AccountName` (and `EndpointSuffix`, default
 *   `core.windows.net`). `UseDevelopmentStorage=true` is Azurite's account, in local mode only.
 * - A SAS URI is https (http only to a loopback host in local mode), carries `sig`, grants read
 *   and list (`sp` with `r` and `l`, unless a stored access policy `si` holds the permissions) and
 *   has not expired (`se`). Its path names the container (for an IP or `localhost` host the
 *   account comes first, path-style, as the Azure SDK reads it), unless `container` is given.
 * - Without a container, the root is the account: a path's first segment is a container.
 * - `container` follows Azure's rules; `folderPath` has no `.` or `..` segments, backslash,
 *   control characters or encoded separators, and is normalised to `''` or `a/b`.
 *
 * @throws INVALID_REQUEST (a ValidationError) naming each refused field
 *   (`body.auth.params.sasUri`, `/auth/params/sasUri`); messages never quote the input.
 */
export function parseAzureBlobCredential(
  input: AzureBlobCredentialInput,
  options: ParseAzureBlobOptions,
): AzureBlobSource {
  const errors: FieldError[] = [];
  const refuse = (field: Field, problem: string): void => {
    errors.push({ field: `body.auth.params.${field}`, pointer: `/auth/params/${field}`, message: problem });
  };
  const now = (options.clock ?? systemClock).now();

  const target =
    input.specName === 'ConnectionString'
      ? fromConnectionString(input.connectionString, options.allowLoopbackHttp, now)
      : fromSasUri(input.sasUri, options.allowLoopbackHttp, now);
  if (!target.ok) refuse(input.specName === 'ConnectionString' ? 'connectionString' : 'sasUri', target.problem);

  let container: string | undefined;
  if (input.container !== undefined) {
    if (!CONTAINER_NAME.test(input.container)) refuse('container', CONTAINER_MESSAGE);
    else if (target.ok && target.value.container !== undefined && target.value.container !== input.container)
      refuse('container', 'Must be the container the SAS URI names');
    else container = input.container;
  } else if (target.ok) {
    container = target.value.container;
  }

  let folderPath = '';
  if (input.folderPath !== undefined) {
    const folder = parseFolderPath(input.folderPath);
    if (!folder.ok) refuse('folderPath', folder.problem);
    else folderPath = folder.value;
  }
  const firstFolder = folderPath.split('/')[0] ?? '';
  if (
    folderPath !== '' &&
    container === undefined &&
    input.container === undefined &&
    target.ok &&
    !CONTAINER_NAME.test(firstFolder)
  )
    refuse(
      'folderPath',
      `Without a container, the first folder is the container: ${CONTAINER_MESSAGE.replace('Must be', 'it must be')}`,
    );

  if (!target.ok || errors.length > 0) throw new ValidationError('The Azure Blob connection is invalid', errors);
  const { endpoint, host, accountName, credential } = target.value;
  return Object.freeze({
    endpoint,
    host,
    accountName,
    ...(container === undefined ? {} : { container }),
    folderPath,
    credential,
  });
}

/** Whether `name` is a valid Azure container name: 3-63 lowercase letters, digits and single inner hyphens. */
export function isAzureContainerName(name: string): boolean {
  return CONTAINER_NAME.test(name);
}

/**
 * Which storage a source reads, for messages and logs: account and container, never the credential.
 */
export function describeAzureBlobSource(
  source: Pick<AzureBlobSource, 'accountName' | 'container'>,
  container = source.container,
): string {
  return container === undefined
    ? `Azure Blob account ${source.accountName}`
    : `Azure Blob account ${source.accountName}, container ${container}`;
}

function fromConnectionString(text: string, allowLoopbackHttp: boolean, now: number): Parsed<Target> {
  if (text.length > MAX_AZURE_BLOB_SECRET_LENGTH)
    return refused(`Must be at most ${MAX_AZURE_BLOB_SECRET_LENGTH} characters`);
  const parsed = settingsOf(text);
  if (!parsed.ok) return parsed;
  const settings = parsed.value;

  const development = settings.get('UseDevelopmentStorage');
  if (development !== undefined) {
    if (development.toLowerCase() !== 'true') return refused('UseDevelopmentStorage must be true when given');
    if (!allowLoopbackHttp) return refused('UseDevelopmentStorage=true is accepted only in local mode');
    if (settings.size > 1) return refused('UseDevelopmentStorage=true takes no other setting');
    const { endpoint, accountName, accountKey } = DEVELOPMENT_STORAGE;
    return ok({ endpoint, host: '127.0.0.1', accountName, credential: { kind: 'sharedKey', accountName, accountKey } });
  }

  const accountName = settings.get('AccountName');
  if (accountName !== undefined && !ACCOUNT_NAME.test(accountName))
    return refused('AccountName must be 3-24 lowercase letters and digits');
  const accountKey = settings.get('AccountKey');
  const sas = settings.get('SharedAccessSignature');
  if (accountKey !== undefined && sas !== undefined)
    return refused('Give AccountKey or SharedAccessSignature, not both');
  if (accountKey === undefined && sas === undefined)
    return refused('Needs AccountName and AccountKey, or SharedAccessSignature');
  if (accountKey !== undefined && accountName === undefined) return refused('Needs AccountName with AccountKey');
  if (accountKey !== undefined && (!BASE64.test(accountKey) || accountKey.length % 4 !== 0))
    return refused('AccountKey must be Base64');

  let endpoint: Parsed<Endpoint>;
  const blobEndpoint = settings.get('BlobEndpoint');
  if (blobEndpoint !== undefined) {
    endpoint = parseEndpoint(blobEndpoint, allowLoopbackHttp, 'BlobEndpoint');
    if (!endpoint.ok) return endpoint;
    if (endpoint.value.pathSegments.length !== (endpoint.value.pathStyle ? 1 : 0))
      return refused(
        endpoint.value.pathStyle
          ? 'BlobEndpoint with an IP address or localhost must name the account as its path (http://127.0.0.1:10000/account)'
          : 'BlobEndpoint must have no path',
      );
    const pathAccount = endpoint.value.pathSegments[0];
    if (pathAccount !== undefined && accountName !== undefined && pathAccount !== accountName)
      return refused('BlobEndpoint names another account than AccountName');
  } else {
    const protocol = settings.get('DefaultEndpointsProtocol');
    if (protocol === undefined || accountName === undefined)
      return refused('Needs BlobEndpoint, or DefaultEndpointsProtocol and AccountName');
    if (protocol !== 'https' && protocol !== 'http') return refused('DefaultEndpointsProtocol must be https');
    const suffix = settings.get('EndpointSuffix') ?? DEFAULT_ENDPOINT_SUFFIX;
    if (!HOST_NAME.test(suffix)) return refused('EndpointSuffix must be a host name such as core.windows.net');
    endpoint = parseEndpoint(
      `${protocol}://${accountName}.blob.${suffix}`,
      allowLoopbackHttp,
      'DefaultEndpointsProtocol',
    );
    if (!endpoint.ok) return endpoint;
  }
  const { url, host, pathStyle, pathSegments } = endpoint.value;
  const account = accountName ?? (pathStyle ? pathSegments[0] : accountOfHost(host)) ?? host;
  const base = pathStyle ? `${url}/${account}` : url;

  if (accountKey !== undefined && accountName !== undefined) {
    return ok({
      endpoint: base,
      host,
      accountName: account,
      credential: { kind: 'sharedKey', accountName, accountKey },
    });
  }
  const query = (sas ?? '').replace(/^\?/, '');
  const sasProblem = sasProblemOf(new URLSearchParams(query), now);
  if (sasProblem !== undefined) return refused(sasProblem);
  return ok({ endpoint: base, host, accountName: account, credential: { kind: 'sas', query } });
}

/** The settings of a connection string by canonical name; other services' endpoints dropped. */
function settingsOf(text: string): Parsed<Map<Setting, string>> {
  const settings = new Map<Setting, string>();
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) return refused('Must be a storage connection string: Key=Value settings separated by ;');
    const key = part.slice(0, at).trim().toLowerCase();
    const value = part.slice(at + 1).trim();
    if (IGNORED_SETTINGS.includes(key)) continue;
    const setting = SETTINGS.find((name) => name.toLowerCase() === key);
    if (setting === undefined)
      return refused(`Has a setting other than ${SETTINGS.join(', ')} and the other services' endpoints`);
    if (settings.has(setting)) return refused('Must not repeat a setting');
    if (value === '') return refused('Must not have an empty setting');
    settings.set(setting, value);
  }
  if (settings.size === 0) return refused('Must be a storage connection string: Key=Value settings separated by ;');
  return ok(settings);
}

function fromSasUri(text: string, allowLoopbackHttp: boolean, now: number): Parsed<Target> {
  if (text.length > MAX_AZURE_BLOB_SECRET_LENGTH)
    return refused(`Must be at most ${MAX_AZURE_BLOB_SECRET_LENGTH} characters`);
  const endpoint = parseEndpoint(text, allowLoopbackHttp, 'SAS URI', { query: true });
  if (!endpoint.ok) return endpoint;
  const { url, host, pathStyle, pathSegments, query } = endpoint.value;
  const sasProblem = sasProblemOf(new URLSearchParams(query), now);
  if (sasProblem !== undefined) return refused(sasProblem);

  // Path-style (an IP address or localhost, as Azurite): /account[/container]; else /[container].
  const [account, container, ...rest] = pathStyle ? pathSegments : [accountOfHost(host), ...pathSegments];
  if (pathStyle && account === undefined)
    return refused('Must name the account as the first path segment for an IP address or localhost');
  if (rest.length > 0) return refused('Must name a container, not a blob or a folder (give folders as folderPath)');
  if (container !== undefined && !CONTAINER_NAME.test(container))
    return refused(`The container in its path: ${CONTAINER_MESSAGE.toLowerCase()}`);
  const base = pathStyle && account !== undefined ? `${url}/${account}` : url;
  return ok({
    endpoint: base,
    host,
    accountName: account ?? host,
    ...(container === undefined ? {} : { container }),
    credential: { kind: 'sas', query },
  });
}

/**
 * Why a SAS query does not let the app read, or `undefined`. The permissions and expiry of a SAS
 * bound to a stored access policy (`si`) live in the policy: they are checked by the service at
 * the first listing, not here.
 */
function sasProblemOf(params: URLSearchParams, now: number): string | undefined {
  for (const name of ['sig', 'sp', 'se', 'si']) {
    if (params.getAll(name).length > 1) return 'Must not repeat a SAS parameter';
  }
  const sig = params.get('sig');
  if (sig === null || sig === '') return 'The SAS must carry a signature (sig)';
  const policy = params.get('si');
  const permissions = params.get('sp');
  if (permissions === null ? policy === null : !(permissions.includes('r') && permissions.includes('l')))
    return SAS_READ_LIST_MESSAGE;
  const expiry = params.get('se');
  if (expiry === null) return policy === null ? 'The SAS must carry an expiry (se)' : undefined;
  const expiresAt = Date.parse(expiry);
  if (Number.isNaN(expiresAt)) return 'The SAS expiry (se) must be a date';
  if (expiresAt <= now) return 'The SAS has expired (se is in the past)';
  return undefined;
}

interface Endpoint {
  /** Origin and path, no trailing `/`, no query. */
  readonly url: string;
  readonly host: string;
  /** An IP address or localhost: the account is the first path segment (path-style, as Azurite). */
  readonly pathStyle: boolean;
  readonly pathSegments: readonly string[];
  /** The query without `?` (SAS URIs only). */
  readonly query: string;
}

/** Parses an http(s) URL as a blob endpoint (or SAS URI with `query`); messages name `what`. */
function parseEndpoint(
  text: string,
  allowLoopbackHttp: boolean,
  what: string,
  accept: { readonly query?: boolean } = {},
): Parsed<Endpoint> {
  // WHATWG URL parsing reads a backslash as `/` in http(s) and resolves dot segments (`/c01/..`,
  // `/%2e%2e`) away: both are refused before parsing can reinterpret them.
  const beforeQuery = text.split(/[?#]/)[0] ?? '';
  if (beforeQuery.includes('\\')) return refused(`${what} must not contain a backslash`);
  if (/\/(?:\.|%2e){1,2}(?=\/|$)/i.test(beforeQuery)) return refused(`${what} must not contain . or .. path segments`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refused(`${what} must be a URL`);
  }
  const loopbackHttp = url.protocol === 'http:' && allowLoopbackHttp && isLoopbackUrl(url.href);
  if (url.protocol !== 'https:' && !loopbackHttp) {
    const message = allowLoopbackHttp ? LOCAL_HTTP_MESSAGE : HTTPS_MESSAGE;
    return refused(what === 'SAS URI' ? message : `${what}: ${message.toLowerCase()}`);
  }
  if (url.username !== '' || url.password !== '') return refused(`${what} must not contain a user name or password`);
  if (url.hash !== '') return refused(`${what} must not have a fragment`);
  if (url.search !== '' && accept.query !== true) return refused(`${what} must not have a query`);
  // WHATWG URL keeps IPv6 addresses in brackets and already refuses most malformed hosts.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) === 0 && !HOST_NAME.test(host)) return refused(`${what} must have a valid host name or IP address`);
  const path = url.pathname.replace(/^\//, '').replace(/\/$/, '');
  const pathSegments = path === '' ? [] : path.split('/');
  if (pathSegments.some((s) => s === '')) return refused(`${what} must not have empty path segments`);
  const pathStyle = isIP(host) !== 0 || host === 'localhost';
  if (pathStyle && pathSegments[0] !== undefined && !ACCOUNT_NAME.test(pathSegments[0]))
    return refused(`${what}: the account name in its path must be 3-24 lowercase letters and digits`);
  return ok({ url: url.origin, host, pathStyle, pathSegments, query: url.search.replace(/^\?/, '') });
}

/** `acct` of `acct.blob.core.windows.net`; `undefined` for a custom domain. */
function accountOfHost(host: string): string | undefined {
  const [account, service] = host.split('.');
  return service === 'blob' && account !== undefined && ACCOUNT_NAME.test(account) ? account : undefined;
}

/** Why a folder path is refused, or its normal form (`''` or `a/b`). */
function parseFolderPath(path: string): Parsed<string> {
  if (path.length > MAX_AZURE_BLOB_FOLDER_PATH_LENGTH)
    return refused(`Must be at most ${MAX_AZURE_BLOB_FOLDER_PATH_LENGTH} characters`);
  const problem = folderPathProblem(path);
  return problem === undefined ? ok(normaliseFolderPath(path)) : refused(problem);
}
