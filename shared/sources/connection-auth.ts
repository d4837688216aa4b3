import { isIP } from 'node:net';
import { z } from 'zod';
import { isAzureContainerName } from './azure-blob-credential.js';
import { folderPathProblem, normaliseFolderPath } from './folder-path.js';

/** Adobe's Azure Blob source connection spec. */
export const AZURE_BLOB_CONNECTION_SPEC = 'd771e9c1-4f26-40dc-8617-ce58c4b53702';
/** Adobe's SFTP source connection spec. */
export const SFTP_CONNECTION_SPEC = 'b7bf2577-4520-42c9-bae9-cad01560f7bc';

/** The `auth.specName`s of each connection spec, as Adobe names them. */
export const AUTH_SPEC_NAMES = {
  [AZURE_BLOB_CONNECTION_SPEC]: ['ConnectionString', 'SAS URI Authentication'],
  [SFTP_CONNECTION_SPEC]: ['Basic Authentication for sftp', 'SSH PublicKey Authentication for sftp'],
} as const;

/** Largest Base64 `privateKeyContent` accepted (an RSA-4096 OpenSSH key is about 4.5 KiB of Base64). */
export const MAX_PRIVATE_KEY_BASE64 = 16 * 1024;
/** Most SFTP sessions the app opens to one server at a time when a connection does not say. */
export const DEFAULT_MAX_CONCURRENT_CONNECTIONS = 4;
export const MAX_CONCURRENT_CONNECTIONS = 16;

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** A host name or an IP address (IPv6 without brackets). */
export const Host = z
  .string()
  .max(253)
  .refine((host) => isIP(host) !== 0 || HOST_NAME.test(host), 'Must be a host name or an IP address');

/** Adobe sends numbers as JSON numbers or as strings of digits; both are taken. */
const digits = (min: number, max: number, what: string) =>
  z
    .union([z.int(), z.string().regex(/^\d{1,6}$/, `Must be ${what}`).transform(Number)])
    .pipe(z.int().min(min, `Must be ${what}`).max(max, `Must be ${what}`));

const Port = digits(1, 65535, 'a port number (1-65535)');

/**
 * A folder on the customer's storage: `/`-separated, no `..` or `.` segments, no backslash or
 * control characters. Normalised to `''` (the root) or `a/b` (no leading or trailing `/`).
 */
export const FolderPath = z
  .string()
  .max(1024)
  .check((ctx) => {
    const problem = folderPathProblem(ctx.value);
    if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  })
  .transform(normaliseFolderPath);

/**
 * An SFTP server's folder: like {@link FolderPath}, but a leading `/` is kept: `/data/out` is
 * absolute on the server, `out` (or `''`) relative to where the login starts (its home, or the
 * chroot of a confined account).
 */
const SftpFolderPath = z
  .string()
  .max(1024)
  .check((ctx) => {
    const problem = folderPathProblem(ctx.value);
    if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
  })
  .transform((path) => (path.startsWith('/') ? '/' : '') + normaliseFolderPath(path));

const ContainerName = z.string().refine(isAzureContainerName, 'Must be a container name (3-63 lowercase letters, digits and single hyphens)');

/** `SHA256:` and 43 Base64 characters, as `ssh-keygen -l -E sha256` prints a host key's fingerprint. */
export const HostKeyFingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'Must be an OpenSSH SHA256 fingerprint (SHA256:...)');

const BlobLocation = { container: ContainerName.optional(), folderPath: FolderPath.optional() };

const BlobConnectionStringParams = z.strictObject({ connectionString: z.string().min(1).max(4096), ...BlobLocation });
const BlobSasParams = z.strictObject({ sasUri: z.string().min(1).max(4096), ...BlobLocation });

const SftpCommon = {
  host: Host,
  port: Port.optional(),
  userName: z.string().min(1).max(256),
  folderPath: SftpFolderPath.optional(),
  maxConcurrentConnections: digits(1, MAX_CONCURRENT_CONNECTIONS, `1 to ${MAX_CONCURRENT_CONNECTIONS}`).optional(),
  hostKeyFingerprint: HostKeyFingerprint.optional(),
  // Adobe's; chunked transfers are how the app reads anyway, so it is accepted and has no effect.
  disableChunking: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
};

const SftpPasswordParams = z.strictObject({ ...SftpCommon, password: z.string().min(1).max(1024) });

const SftpKeyParams = z.strictObject({
  ...SftpCommon,
  privateKeyContent: z
    .string()
    .max(MAX_PRIVATE_KEY_BASE64)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'Must be the private key file in Base64')
    .transform((b64) => Buffer.from(b64, 'base64').toString('utf8'))
    .refine((text) => /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text.trimStart()), 'Must be the Base64 of a private key file (-----BEGIN ... PRIVATE KEY-----)'),
  passPhrase: z.string().max(1024).optional(),
});

/** A base connection's auth, parsed: what the readers connect with. Holds secrets: never shown, never logged. */
export type ConnectionAuth =
  | { readonly kind: 'azureBlob'; readonly specName: 'ConnectionString'; readonly params: z.output<typeof BlobConnectionStringParams> }
  | { readonly kind: 'azureBlob'; readonly specName: 'SAS URI Authentication'; readonly params: z.output<typeof BlobSasParams> }
  | { readonly kind: 'sftp'; readonly specName: 'Basic Authentication for sftp'; readonly params: z.output<typeof SftpPasswordParams> }
  | { readonly kind: 'sftp'; readonly specName: 'SSH PublicKey Authentication for sftp'; readonly params: z.output<typeof SftpKeyParams> };

/** One problem of an `auth` as sent, at its path below the body (`['auth', 'params', 'port']`). */
export interface AuthIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * Parses `auth` for the connection spec `specId`: the spec must be Azure Blob or SFTP, the
 * `specName` one of that spec's, and the params exactly that auth's (no missing, no extra).
 * Pure: no address is resolved and nothing is connected to here.
 */
export function parseConnectionAuth(
  specId: string,
  auth: { readonly specName: string; readonly params: unknown },
): { readonly auth: ConnectionAuth } | { readonly issues: readonly AuthIssue[] } {
  const names: readonly string[] | undefined = (AUTH_SPEC_NAMES as Record<string, readonly string[]>)[specId];
  if (names === undefined) {
    return {
      issues: [{ path: ['connectionSpec', 'id'], message: `Must be ${AZURE_BLOB_CONNECTION_SPEC} (Azure Blob) or ${SFTP_CONNECTION_SPEC} (SFTP)` }],
    };
  }
  if (!names.includes(auth.specName)) {
    return { issues: [{ path: ['auth', 'specName'], message: `Must be one of: ${names.join(', ')}` }] };
  }
  const issuesOf = (error: z.ZodError): AuthIssue[] =>
    error.issues.map((i) => ({ path: ['auth', 'params', ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: i.message }));
  switch (auth.specName) {
    case 'ConnectionString': {
      const parsed = BlobConnectionStringParams.safeParse(auth.params);
      return parsed.success ? { auth: { kind: 'azureBlob', specName: 'ConnectionString', params: parsed.data } } : { issues: issuesOf(parsed.error) };
    }
    case 'SAS URI Authentication': {
      const parsed = BlobSasParams.safeParse(auth.params);
      return parsed.success ? { auth: { kind: 'azureBlob', specName: 'SAS URI Authentication', params: parsed.data } } : { issues: issuesOf(parsed.error) };
    }
    case 'Basic Authentication for sftp': {
      const parsed = SftpPasswordParams.safeParse(auth.params);
      return parsed.success ? { auth: { kind: 'sftp', specName: 'Basic Authentication for sftp', params: parsed.data } } : { issues: issuesOf(parsed.error) };
    }
    default: {
      const parsed = SftpKeyParams.safeParse(auth.params);
      return parsed.success
        ? { auth: { kind: 'sftp', specName: 'SSH PublicKey Authentication for sftp', params: parsed.data } }
        : { issues: issuesOf(parsed.error) };
    }
  }
}

/** The params of an auth that may be shown: where it points, never how it authenticates. */
export function publicAuthParams(auth: ConnectionAuth): Record<string, string | number> {
  const shown: Record<string, string | number | undefined> =
    auth.kind === 'azureBlob'
      ? { container: auth.params.container, folderPath: auth.params.folderPath }
      : {
          host: auth.params.host,
          port: auth.params.port ?? 22,
          userName: auth.params.userName,
          folderPath: auth.params.folderPath,
          maxConcurrentConnections: auth.params.maxConcurrentConnections,
          hostKeyFingerprint: auth.params.hostKeyFingerprint,
        };
  return Object.fromEntries(Object.entries(shown).filter((e): e is [string, string | number] => e[1] !== undefined));
}
