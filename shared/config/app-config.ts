import { ConfigError } from './config-error.js';
import { defaultPrivateKeyWorkers, DEV_ISSUER } from './defaults.js';
import type { ConfigPartName, LogLevel } from './settings.js';
import { SettingsReader, type PartValues, type SettingsEnv } from './settings-reader.js';

/**
 * The app's configuration: every setting of `SETTINGS` (`settings.ts`), parsed once at start
 * ({@link appConfig}) into one frozen object, so a missing or malformed setting stops the start
 * with a message naming it. Modules take the part they need as a parameter.
 */
export interface AppConfig extends CoreConfig {
  /** `KEY_CACHE_TTL_SECONDS` (300) and `KEY_CACHE_MAX_STALE_SECONDS` (3600: only while the vault is unreachable). */
  readonly keyCache: KeyCacheSettings;
  readonly auth: AuthConfig;
  readonly cmk: CmkSettings;
  readonly triggers: TriggerSettings;
  readonly http: HttpSettings;
  readonly privateKeyPool: PrivateKeyPoolSettings;
  readonly hpke: HpkeSettings;
  readonly logging: LoggingSettings;
}

/** The app, its storage, the system KEK and the landing account. */
export interface CoreConfig {
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
    | {
        readonly kind: 'connectionString';
        readonly connectionString: string;
        readonly accountName: string;
        readonly accountKey: string;
      }
    | {
        readonly kind: 'identity';
        readonly accountName: string;
        readonly blobServiceUri: string;
        readonly accountResourceId: string;
      };
  /** `LANDING_ZONE_SAS_DAYS` (90): how long a zone's credential lasts. */
  readonly sasDays: number;
  /** `LANDING_ZONE_TTL_DAYS` (7, Adobe's): files are deleted this long after upload. */
  readonly ttlDays: number;
}

/** Storage: a connection string (Azurite, or a key-based account) or an identity-based account. */
export type StorageConfig =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | { readonly kind: 'identity'; readonly blobServiceUri: string; readonly tableServiceUri: string; readonly queueServiceUri: string };

/** How long unwrapped root keys are kept, from `KEY_CACHE_TTL_SECONDS` / `KEY_CACHE_MAX_STALE_SECONDS`. */
export interface KeyCacheSettings {
  readonly cacheTtlSeconds: number;
  readonly maxStaleSeconds: number;
}

/** How bearer tokens are verified and which claims name the client and the granted organizations. */
export interface AuthConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: URL;
  /** Claim holding the OAuth client id that `x-api-key` must equal. */
  readonly clientIdClaim: string;
  /** Claim holding the granted organization id(s): a string or an array of strings. */
  readonly orgClaim: string;
  /**
   * Claim holding the sandbox name(s) a token may work in (a string or an array of strings). When
   * set, a token is confined to the sandboxes it names and a token without the claim works in
   * none; when absent (the default), sandboxes are chosen per request and are no boundary.
   */
  readonly sandboxClaim?: string;
}

/**
 * Settings of the CMK feature: our multi-tenant app registration, proof of key ownership, when a
 * config on an unreachable vault gives up, and a test-only crash hook.
 */
export interface CmkSettings {
  /** `CMK_APP_CLIENT_ID`: the application (client) id of our multi-tenant Entra ID app. */
  readonly appClientId: string;
  /** `CMK_APP_NAME`. */
  readonly appName: string;
  /** `CMK_APP_URI`: the app's URI, also its consent redirect URI. */
  readonly appUri: string;
  /**
   * `CMK_OWNERSHIP_GRACE_DAYS` (30): how long a config that took effect before keys had to prove
   * their owner (tag `cipherflow-org`) keeps working after the reconciler first finds it without
   * proof; then it fails with CMK_KEY_NOT_OWNED. 0 enforces at once.
   */
  readonly ownershipGraceDays: number;
  /**
   * `CMK_OPERATOR_VAULT_URLS`: comma-separated URLs of vaults cipherflow operates besides the system
   * KEK's (`SYSTEM_KEY_VAULT_URL`, always included); no key in them is accepted as a customer key.
   */
  readonly operatorVaultUrls: readonly string[];
  /**
   * `CMK_UNREACHABLE_GIVE_UP_MINUTES` (60): a config whose vault has not answered for this long
   * since it entered RUNNING (before the org's key state names its key) ends FAILED
   * KEY_VAULT_UNREACHABLE, so the org can send another.
   */
  readonly unreachableGiveUpMinutes: number;
}

/**
 * Settings the triggers need: what their registrations name when the app loads (a queue,
 * timer schedules) and the ingestion's limits. Registration metadata is produced as the worker
 * loads the app, so a malformed setting stops the start there.
 */
export interface TriggerSettings {
  /** The queue of the landing account's BlobCreated events, in the app's storage (`LANDING_EVENTS_QUEUE`, default `landing-events`). */
  readonly landingEventsQueue: string;
  /** NCRONTAB of deleting landing-zone files past their TTL (`LANDING_TTL_SCHEDULE`, default hourly at minute 30). */
  readonly landingTtlSchedule: string;
  /** NCRONTAB of the CMK reconciler (`CMK_RECONCILE_SCHEDULE`, default every minute). */
  readonly cmkReconcileSchedule: string;
  /** NCRONTAB of the HPKE key rotation (`HPKE_ROTATE_SCHEDULE`, default hourly at minute 5). */
  readonly hpkeRotateSchedule: string;
  /** NCRONTAB of following a rotation of the system KEK (`SYSTEM_KEK_ROTATE_SCHEDULE`, default hourly at minute 0). */
  readonly systemKekRotateSchedule: string;
  /** NCRONTAB of the retry of files parked during a Key Vault outage (`INGEST_RETRY_SCHEDULE`, default every 15 s). */
  readonly ingestRetrySchedule: string;
  /**
   * NCRONTAB of starting the due runs of dataflows that read a customer's storage
   * (`FLOW_SCHEDULE_SCHEDULE`, default every 15 s: a flow's own schedule is at most once a minute).
   */
  readonly flowScheduleSchedule: string;
  /**
   * Largest decrypted file ingested, in bytes (`MAX_FILE_BYTES`, default 1 GiB as Adobe's limit);
   * bigger files fail with FILE_TOO_LARGE.
   */
  readonly maxFileBytes: number;
  /**
   * Most decompressed bytes per compressed byte at every inflate of an ingested file
   * (`MAX_COMPRESSION_RATIO`, default 250), checked once an inflate's output passes 4 MiB; a file
   * past it fails with COMPRESSION_RATIO_EXCEEDED.
   */
  readonly maxCompressionRatio: number;
  /**
   * Most session key packets naming the flow's key or a hidden recipient tried per message
   * (`MAX_PKESK_PER_MESSAGE`, default 16); a file with more fails with TOO_MANY_RECIPIENTS.
   */
  readonly maxSessionKeyPackets: number;
}

/** The HTTP pipeline's limits. */
export interface HttpSettings {
  /** `API_RATE_LIMIT_PER_ORG` (200): requests per second per org and instance. */
  readonly rateLimitPerOrg: number;
  /** `REQUEST_BODY_TIMEOUT_SECONDS` (60): how long a request body may take to arrive in all. */
  readonly requestBodyTimeoutSeconds: number;
}

/** `PRIVATE_KEY_WORKERS` and `PRIVATE_KEY_WAITING`. */
export interface PrivateKeyPoolSettings {
  /** Worker threads at most (default: the cores less one for HTTP, at least 1, at most 4). */
  readonly workers: number;
  /** HTTP requests that may wait for a worker before the next is answered 503 SERVER_BUSY (default 8). */
  readonly maxWaiting: number;
}

export interface HpkeSettings {
  /** `HPKE_KEY_LIFETIME_DAYS` (365), in ms. */
  readonly keyLifetimeMs: number;
}

export interface LoggingSettings {
  /** `LOG_LEVEL` (`info`). */
  readonly level: LogLevel;
}

/** What each part of the configuration parses into: the core fields, or one field of {@link AppConfig}. */
export type ConfigPart<P extends ConfigPartName> = P extends 'core'
  ? CoreConfig
  : P extends keyof AppConfig
    ? AppConfig[P]
    : never;

const DAY_MS = 86_400_000;

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

// Each part reads its settings and checks them together; it answers undefined when it recorded a
// problem, and its value is used only when no part recorded any.
const PARTS: { readonly [P in ConfigPartName]: (r: SettingsReader) => ConfigPart<P> | undefined } = {
  core: coreConfig,
  keyCache: (r) => {
    const v = r.readPart('keyCache');
    return v && { cacheTtlSeconds: v.KEY_CACHE_TTL_SECONDS, maxStaleSeconds: v.KEY_CACHE_MAX_STALE_SECONDS };
  },
  auth: authConfig,
  cmk: (r) => {
    const v = r.readPart('cmk');
    // Required outside local mode, with placeholders in local mode: missing ones are reported.
    if (v?.CMK_APP_CLIENT_ID === undefined || v.CMK_APP_NAME === undefined || v.CMK_APP_URI === undefined)
      return undefined;
    return {
      appClientId: v.CMK_APP_CLIENT_ID,
      appName: v.CMK_APP_NAME,
      appUri: v.CMK_APP_URI,
      ownershipGraceDays: v.CMK_OWNERSHIP_GRACE_DAYS,
      operatorVaultUrls: v.CMK_OPERATOR_VAULT_URLS ?? [],
      unreachableGiveUpMinutes: v.CMK_UNREACHABLE_GIVE_UP_MINUTES,
    };
  },
  triggers: (r) => {
    const v = r.readPart('triggers');
    return (
      v && {
        landingEventsQueue: v.LANDING_EVENTS_QUEUE,
        landingTtlSchedule: v.LANDING_TTL_SCHEDULE,
        cmkReconcileSchedule: v.CMK_RECONCILE_SCHEDULE,
        hpkeRotateSchedule: v.HPKE_ROTATE_SCHEDULE,
        systemKekRotateSchedule: v.SYSTEM_KEK_ROTATE_SCHEDULE,
        ingestRetrySchedule: v.INGEST_RETRY_SCHEDULE,
        flowScheduleSchedule: v.FLOW_SCHEDULE_SCHEDULE,
        maxFileBytes: v.MAX_FILE_BYTES,
        maxCompressionRatio: v.MAX_COMPRESSION_RATIO,
        maxSessionKeyPackets: v.MAX_PKESK_PER_MESSAGE,
      }
    );
  },
  http: (r) => {
    const v = r.readPart('http');
    return (
      v && { rateLimitPerOrg: v.API_RATE_LIMIT_PER_ORG, requestBodyTimeoutSeconds: v.REQUEST_BODY_TIMEOUT_SECONDS }
    );
  },
  privateKeyPool: (r) => {
    const v = r.readPart('privateKeyPool');
    return v && { workers: v.PRIVATE_KEY_WORKERS ?? defaultPrivateKeyWorkers(), maxWaiting: v.PRIVATE_KEY_WAITING };
  },
  hpke: (r) => {
    const v = r.readPart('hpke');
    return v && { keyLifetimeMs: v.HPKE_KEY_LIFETIME_DAYS * DAY_MS };
  },
  logging: (r) => {
    const v = r.readPart('logging');
    return v && { level: v.LOG_LEVEL };
  },
};

/**
 * Parses app settings into the one {@link AppConfig}, deeply frozen. Pure: `env` is the only input.
 * @throws ConfigError naming every missing or malformed setting at once.
 */
export function loadConfig(env: SettingsEnv): AppConfig {
  const r = new SettingsReader(env);
  const core = PARTS.core(r);
  const parts = {
    keyCache: PARTS.keyCache(r),
    auth: PARTS.auth(r),
    cmk: PARTS.cmk(r),
    triggers: PARTS.triggers(r),
    http: PARTS.http(r),
    privateKeyPool: PARTS.privateKeyPool(r),
    hpke: PARTS.hpke(r),
    logging: PARTS.logging(r),
  };
  const { keyCache, auth, cmk, triggers, http, privateKeyPool, hpke, logging } = parts;
  if (
    r.problems.length > 0 ||
    core === undefined ||
    keyCache === undefined ||
    auth === undefined ||
    cmk === undefined ||
    triggers === undefined ||
    http === undefined ||
    privateKeyPool === undefined ||
    hpke === undefined ||
    logging === undefined
  ) {
    throw new ConfigError(r.problems);
  }
  return deepFreeze({ ...core, keyCache, auth, cmk, triggers, http, privateKeyPool, hpke, logging });
}

/**
 * Parses one part of the configuration from `env`, reading only that part's settings (and
 * `CIPHERFLOW_ENV`): for a test of one part, or a process that is not the app (the local
 * runtime reads `REQUEST_BODY_TIMEOUT_SECONDS` as the host does).
 * @throws ConfigError naming every missing or malformed setting of the part.
 */
export function loadConfigPart<P extends ConfigPartName>(part: P, env: SettingsEnv): ConfigPart<P> {
  const r = new SettingsReader(env);
  const value = (PARTS[part] as (r: SettingsReader) => ConfigPart<P> | undefined)(r);
  if (value === undefined || r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(value);
}

let cached: AppConfig | undefined;

/**
 * The process's configuration, parsed from `process.env` on first use. The app calls it as it
 * loads (`appPipeline()`, trigger registrations), so a bad setting stops the start.
 * @throws ConfigError naming every missing or malformed setting.
 */
export function appConfig(): AppConfig {
  cached ??= loadConfig(process.env);
  return cached;
}

function coreConfig(r: SettingsReader): CoreConfig | undefined {
  const v = r.readPart('core');
  // CMK_APP_CLIENT_ID belongs to the CMK part; here only whether it is set matters.
  const appClientId = r.given('CMK_APP_CLIENT_ID');
  if (v === undefined) return undefined;
  const storage = storageConfig(r, v);
  const landing = landingStorageConfig(r, v);
  // Absent outside local mode, PUBLIC_BASE_URL is reported missing like SYSTEM_KEY_VAULT_URL.
  const publicBaseUrl = publicBaseUrlOf(r, v.PUBLIC_BASE_URL);
  if (storage === undefined || landing === undefined || publicBaseUrl === false || v.SYSTEM_KEY_VAULT_URL === undefined)
    return undefined;
  return {
    environment: v.CIPHERFLOW_ENV,
    storage,
    systemKeyVaultUrl: v.SYSTEM_KEY_VAULT_URL,
    systemKeyName: v.SYSTEM_KEY_NAME,
    ...(v.AZURE_TENANT_ID === undefined || appClientId === undefined
      ? {}
      : {
          crossTenant: {
            homeTenantId: v.AZURE_TENANT_ID,
            appClientId,
            ...(v.AZURE_CLIENT_ID === undefined ? {} : { managedIdentityClientId: v.AZURE_CLIENT_ID }),
          },
        }),
    landing: { storage: landing, sasDays: v.LANDING_ZONE_SAS_DAYS, ttlDays: v.LANDING_ZONE_TTL_DAYS },
    healthProbeSeconds: v.HEALTH_PROBE_SECONDS,
    ...(publicBaseUrl === undefined ? {} : { publicBaseUrl }),
  };
}

/** The normalized `PUBLIC_BASE_URL`, undefined when absent (allowed in local mode only), false when refused. */
function publicBaseUrlOf(r: SettingsReader, value: string | undefined): string | undefined | false {
  if (value === undefined) return undefined;
  const refuse = (): false => {
    r.problem(
      ['PUBLIC_BASE_URL'],
      `PUBLIC_BASE_URL must be ${r.local ? 'an http(s)' : 'an https'} URL without credentials, query or fragment`,
    );
    return false;
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse();
  }
  const schemes = r.local ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol) || url.username !== '' || url.password !== '' || /[?#]/.test(value))
    return refuse();
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function storageConfig(r: SettingsReader, v: PartValues<'core'>): StorageConfig | undefined {
  if (v.AzureWebJobsStorage !== undefined) {
    const value = v.AzureWebJobsStorage.trim();
    return {
      kind: 'connectionString',
      connectionString: value.toLowerCase() === 'usedevelopmentstorage=true' ? DEV_STORAGE : value,
    };
  }
  const account = v.AzureWebJobsStorage__accountName;
  if (account !== undefined || v.AzureWebJobsStorage__blobServiceUri !== undefined) {
    return {
      kind: 'identity',
      blobServiceUri: v.AzureWebJobsStorage__blobServiceUri ?? `https://${account}.blob.core.windows.net`,
      tableServiceUri: v.AzureWebJobsStorage__tableServiceUri ?? `https://${account}.table.core.windows.net`,
      queueServiceUri: v.AzureWebJobsStorage__queueServiceUri ?? `https://${account}.queue.core.windows.net`,
    };
  }
  r.problem(
    ['AzureWebJobsStorage', 'AzureWebJobsStorage__accountName'],
    'AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName (managed identity) is required',
  );
  return undefined;
}

function landingStorageConfig(r: SettingsReader, v: PartValues<'core'>): LandingConfig['storage'] | undefined {
  if (v.LandingStorage !== undefined) {
    const value = v.LandingStorage.trim();
    const connectionString = value.toLowerCase() === 'usedevelopmentstorage=true' ? DEV_LANDING_STORAGE : value;
    // The account's key signs the landing zones' SAS: a connection string without it cannot.
    const field = (name: string) => new RegExp(`(?:^|;)\\s*${name}=([^;]+)`, 'i').exec(connectionString)?.[1];
    const accountName = field('AccountName');
    const accountKey = field('AccountKey');
    if (accountName === undefined || accountKey === undefined) {
      r.problem(
        ['LandingStorage'],
        "LandingStorage must name AccountName and AccountKey (it signs the landing zones' SAS)",
      );
      return undefined;
    }
    return { kind: 'connectionString', connectionString, accountName, accountKey };
  }
  const account = v.LandingStorage__accountName;
  if (account !== undefined && v.LANDING_ACCOUNT_RESOURCE_ID !== undefined) {
    return {
      kind: 'identity',
      accountName: account,
      blobServiceUri: v.LandingStorage__blobServiceUri ?? `https://${account}.blob.core.windows.net`,
      accountResourceId: v.LANDING_ACCOUNT_RESOURCE_ID,
    };
  }
  r.problem(
    ['LandingStorage', 'LandingStorage__accountName', 'LANDING_ACCOUNT_RESOURCE_ID'],
    'LandingStorage (a connection string) or LandingStorage__accountName with LANDING_ACCOUNT_RESOURCE_ID (managed identity) is required',
  );
  return undefined;
}

/**
 * Outside local mode `AUTH_ISSUER`, `AUTH_AUDIENCE` and an https `AUTH_JWKS_URL` are required and
 * the development issuer is refused, so a production app never trusts the key pair that sits
 * unencrypted in `.local/`. In local mode they default to the development issuer on loopback.
 */
function authConfig(r: SettingsReader): AuthConfig | undefined {
  const v = r.readPart('auth');
  // Required outside local mode, with the development issuer's in local mode: missing ones are reported.
  if (v?.AUTH_ISSUER === undefined || v.AUTH_AUDIENCE === undefined || v.AUTH_JWKS_URL === undefined) return undefined;
  const jwksUrl = new URL(v.AUTH_JWKS_URL);
  let ok = true;
  if (!r.local && jwksUrl.protocol !== 'https:') {
    r.problem(['AUTH_JWKS_URL'], 'AUTH_JWKS_URL must be https outside local mode');
    ok = false;
  }
  if (!r.local && v.AUTH_ISSUER === DEV_ISSUER) {
    r.problem(['AUTH_ISSUER'], `AUTH_ISSUER ${DEV_ISSUER} is the development issuer, allowed only in local mode`);
    ok = false;
  }
  if (!ok) return undefined;
  return {
    issuer: v.AUTH_ISSUER,
    audience: v.AUTH_AUDIENCE,
    jwksUrl,
    clientIdClaim: v.AUTH_CLIENT_ID_CLAIM,
    orgClaim: v.AUTH_ORG_CLAIM,
    ...(v.AUTH_SANDBOX_CLAIM === undefined ? {} : { sandboxClaim: v.AUTH_SANDBOX_CLAIM }),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
