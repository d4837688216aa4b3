import { z } from 'zod';
import { parseKeyCacheSettings, type KeyCacheSettings } from './vault/key-cache-settings.js';

/**
 * The app's configuration, read once from app settings (environment) and validated, so a missing
 * or malformed setting stops the start with a message naming it.
 */
export interface AppConfig {
  /** `local` enables development-only conveniences (the development token issuer, ...). */
  readonly environment: 'local' | 'production';
  readonly storage: StorageConfig;
  readonly systemKeyVaultUrl: string;
  readonly systemKeyName: string;
  /**
   * How customers' Key Vaults in other tenants are reached: as our multi-tenant CMK app
   * (`CMK_APP_CLIENT_ID`), from our tenant (`AZURE_TENANT_ID`), through the managed identity
   * `AZURE_CLIENT_ID` (user-assigned; absent: system-assigned). Absent when either is not set.
   */
  readonly crossTenant?: {
    readonly homeTenantId: string;
    readonly appClientId: string;
    readonly managedIdentityClientId?: string;
  };
  /** `KEY_CACHE_TTL_SECONDS` (300) and `KEY_CACHE_MAX_STALE_SECONDS` (3600: only while the vault is unreachable). */
  readonly keyCache: KeyCacheSettings;
  /** The landing storage account, apart from the internal one, and the landing zones' terms. */
  readonly landing: LandingConfig;
  /**
   * `HEALTH_PROBE_SECONDS` (10): how long an instance answers `/health` from its last probe of
   * storage and the system vault, so anonymous calls never drive calls to either.
   */
  readonly healthProbeSeconds: number;
  /**
   * `PUBLIC_BASE_URL`: the API's public URL (an origin, or an origin and a path prefix, with no
   * trailing slash), the base of every absolute link the API answers; links are never built from
   * the request's `Host`. Required (https) outside local mode; absent in local mode, links are
   * relative (`/data/...`).
   */
  readonly publicBaseUrl?: string;
}

/**
 * The landing account holds one container per org and sandbox (Adobe's Data Landing Zone). It is
 * the only account whose key signs anything: `LandingStorage` as a connection string (Azurite; its
 * key signs the zones' SAS), or `LandingStorage__accountName` (+ `__blobServiceUri`) reached with the
 * managed identity, whose key is read at run time through `LANDING_ACCOUNT_RESOURCE_ID` (ARM
 * listKeys), never from a setting.
 */
export interface LandingConfig {
  readonly storage:
    | { readonly kind: 'connectionString'; readonly connectionString: string }
    | { readonly kind: 'identity'; readonly accountName: string; readonly blobServiceUri: string; readonly accountResourceId: string };
  /** `LANDING_ZONE_SAS_DAYS` (90): how long a zone's credential lasts. */
  readonly sasDays: number;
  /** `LANDING_ZONE_TTL_DAYS` (7, Adobe's): files are deleted this long after upload. */
  readonly ttlDays: number;
}

/** Storage: a connection string (Azurite, or a key-based account) or an identity-based account. */
export type StorageConfig =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | { readonly kind: 'identity'; readonly blobServiceUri: string; readonly tableServiceUri: string };

const DEV_STORAGE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
  'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
  'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;' +
  'TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;';

// The local stack's landing account (local/azurite.ts), reached through its local Event Grid on
// port 10010: a public development key, like Azurite's own above.
const DEV_LANDING_STORAGE =
  'DefaultEndpointsProtocol=http;AccountName=devlandingstore1;' +
  'AccountKey=aLXY6ja6Y6YU8oywYlQ6AOXFww4LRkzheT4gICv/NWE04r0e3njympvHQZnWLtXHjCkgnF4rNCaG7tdS35Y6SA==;' +
  'BlobEndpoint=http://127.0.0.1:10010/devlandingstore1;';

const httpsUrl = z.url({ protocol: /^https$/ });

const days = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^[1-9][0-9]{0,3}$/, 'must be a whole number of days')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max} days`)
    .or(z.number().int().min(1).max(max));

const seconds = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^[1-9][0-9]{0,4}$/, 'must be a whole number of seconds')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max} seconds`);

const Env = z.object({
  CIPHERFLOW_ENV: z.enum(['local', 'production']).default('production'),
  AzureWebJobsStorage: z.string().min(1).optional(),
  AzureWebJobsStorage__accountName: z.string().regex(/^[a-z0-9]{3,24}$/).optional(),
  AzureWebJobsStorage__blobServiceUri: httpsUrl.optional(),
  AzureWebJobsStorage__tableServiceUri: httpsUrl.optional(),
  SYSTEM_KEY_VAULT_URL: httpsUrl,
  AZURE_TENANT_ID: z.uuid().optional(),
  AZURE_CLIENT_ID: z.uuid().optional(),
  CMK_APP_CLIENT_ID: z.uuid().optional(),
  SYSTEM_KEY_NAME: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/).default('cipherflow-system-kek'),
  LandingStorage: z.string().min(1).optional(),
  LandingStorage__accountName: z.string().regex(/^[a-z0-9]{3,24}$/).optional(),
  LandingStorage__blobServiceUri: httpsUrl.optional(),
  LANDING_ACCOUNT_RESOURCE_ID: z
    .string()
    .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}$/i, 'must be a storage account resource id')
    .optional(),
  LANDING_ZONE_SAS_DAYS: days(3650).default(90),
  LANDING_ZONE_TTL_DAYS: days(365).default(7),
  HEALTH_PROBE_SECONDS: seconds(3600).default(10),
  PUBLIC_BASE_URL: z.string().trim().min(1).optional(),
});

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses app settings into an {@link AppConfig}. @throws ConfigError naming every bad setting. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): AppConfig {
  const result = Env.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const e = result.data;
  let keyCache: KeyCacheSettings;
  try {
    keyCache = parseKeyCacheSettings(env);
  } catch (err) {
    const problems = err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : String(err);
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  return {
    keyCache,
    ...(e.AZURE_TENANT_ID === undefined || e.CMK_APP_CLIENT_ID === undefined
      ? {}
      : {
          crossTenant: {
            homeTenantId: e.AZURE_TENANT_ID,
            appClientId: e.CMK_APP_CLIENT_ID,
            ...(e.AZURE_CLIENT_ID === undefined ? {} : { managedIdentityClientId: e.AZURE_CLIENT_ID }),
          },
        }),
    environment: e.CIPHERFLOW_ENV,
    storage: storageConfig(e),
    landing: { storage: landingStorageConfig(e), sasDays: e.LANDING_ZONE_SAS_DAYS, ttlDays: e.LANDING_ZONE_TTL_DAYS },
    systemKeyVaultUrl: e.SYSTEM_KEY_VAULT_URL,
    systemKeyName: e.SYSTEM_KEY_NAME,
    healthProbeSeconds: e.HEALTH_PROBE_SECONDS,
    ...publicBaseUrl(e),
  };
}

function publicBaseUrl(e: z.infer<typeof Env>): Pick<AppConfig, 'publicBaseUrl'> {
  const value = e.PUBLIC_BASE_URL;
  const local = e.CIPHERFLOW_ENV === 'local';
  if (value === undefined) {
    if (local) return {};
    throw new ConfigError('Invalid configuration: PUBLIC_BASE_URL (the https URL clients reach the API at) is required outside local mode (CIPHERFLOW_ENV=local)');
  }
  const invalid = () =>
    new ConfigError(`Invalid configuration: PUBLIC_BASE_URL must be ${local ? 'an http(s)' : 'an https'} URL without credentials, query or fragment`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid();
  }
  const schemes = local ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol) || url.username !== '' || url.password !== '' || /[?#]/.test(value)) throw invalid();
  return { publicBaseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

function storageConfig(e: z.infer<typeof Env>): StorageConfig {
  if (e.AzureWebJobsStorage !== undefined) {
    const value = e.AzureWebJobsStorage.trim();
    return {
      kind: 'connectionString',
      connectionString: value.toLowerCase() === 'usedevelopmentstorage=true' ? DEV_STORAGE : value,
    };
  }
  const account = e.AzureWebJobsStorage__accountName;
  if (account !== undefined || e.AzureWebJobsStorage__blobServiceUri !== undefined) {
    return {
      kind: 'identity',
      blobServiceUri: e.AzureWebJobsStorage__blobServiceUri ?? `https://${account}.blob.core.windows.net`,
      tableServiceUri: e.AzureWebJobsStorage__tableServiceUri ?? `https://${account}.table.core.windows.net`,
    };
  }
  throw new ConfigError(
    'Invalid configuration: AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName (managed identity) is required',
  );
}

function landingStorageConfig(e: z.infer<typeof Env>): LandingConfig['storage'] {
  if (e.LandingStorage !== undefined) {
    const value = e.LandingStorage.trim();
    return { kind: 'connectionString', connectionString: value.toLowerCase() === 'usedevelopmentstorage=true' ? DEV_LANDING_STORAGE : value };
  }
  const account = e.LandingStorage__accountName;
  if (account !== undefined && e.LANDING_ACCOUNT_RESOURCE_ID !== undefined) {
    return {
      kind: 'identity',
      accountName: account,
      blobServiceUri: e.LandingStorage__blobServiceUri ?? `https://${account}.blob.core.windows.net`,
      accountResourceId: e.LANDING_ACCOUNT_RESOURCE_ID,
    };
  }
  throw new ConfigError(
    'Invalid configuration: LandingStorage (a connection string) or LandingStorage__accountName with LANDING_ACCOUNT_RESOURCE_ID (managed identity) is required',
  );
}

let cached: AppConfig | undefined;

/** The process's configuration, parsed from `process.env` on first use. */
export function appConfig(): AppConfig {
  cached ??= parseConfig(process.env);
  return cached;
}
