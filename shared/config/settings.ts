import { z } from 'zod';
import {
  DEFAULT_KEY_CACHE_TTL_SECONDS,
  DEFAULT_MAX_COMPRESSION_RATIO,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_PKESK_PER_MESSAGE,
  DEFAULT_PRIVATE_KEY_WAITING,
  DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS,
  DEV_AUDIENCE,
  DEV_ISSUER,
  DEV_ISSUER_PORT,
  DEV_JWKS_PATH,
  MAX_RATE_LIMIT_PER_ORG,
} from './defaults.js';

/** The parts of the configuration; each setting belongs to one (`AppConfig` in `app-config.ts`). */
export type ConfigPartName =
  'core' | 'keyCache' | 'auth' | 'cmk' | 'triggers' | 'http' | 'privateKeyPool' | 'hpke' | 'logging';

/**
 * When a setting must be set: `always`; `production`, outside local mode (local mode supplies a
 * development value); `one-way`, one of two ways of reaching a resource (the description names the
 * other); `optional`.
 */
export type Requirement = 'always' | 'production' | 'one-way' | 'optional';

/** One app setting, declared once: the README's table of settings is checked against these. */
export interface SettingDeclaration {
  readonly part: ConfigPartName;
  /** One line: what the setting does. */
  readonly description: string;
  /** Turns the setting's text into its typed value; an issue's message says why it is refused. */
  readonly parse: z.ZodType;
  /** Used when the setting is absent, spelled as the setting would be (it is parsed like one). */
  readonly default?: string;
  /** Used when the setting is absent in local mode only (production must set it). */
  readonly localDefault?: string;
  /** What the part computes when the setting is absent, for a default that is not a constant. */
  readonly computedDefault?: string;
  readonly required: Requirement;
  /** A blank value counts as absent. */
  readonly blankIsAbsent?: true;
}

/** The levels `LOG_LEVEL` takes (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const httpsUrl = z.url({ protocol: /^https$/ });
const storageAccountName = z.string().regex(/^[a-z0-9]{3,24}$/);
const claimName = z.string().regex(/^[A-Za-z0-9_:.\-/]{1,128}$/, 'must be a JWT claim name');
const nonEmpty = z.string().trim().min(1);

const days = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^[1-9][0-9]{0,3}$/, 'must be a whole number of days')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max} days`);

const seconds = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^[1-9][0-9]{0,4}$/, 'must be a whole number of seconds')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max} seconds`);

// Six space-separated NCRONTAB fields (seconds first); the Functions runtime parses them fully.
const ncrontab = z
  .string()
  .trim()
  .regex(/^(\S+\s+){5}\S+$/, 'must be a 6-field NCRONTAB expression');

// Digits only: `Number()` would also take "1e9", "0x10" or "" (0).
const wholeNumber = (max: number) =>
  z
    .string()
    .trim()
    .regex(new RegExp(`^[1-9][0-9]{0,${String(max).length - 1}}$`), `must be a whole number from 1 to ${max}`)
    .transform(Number)
    .refine((n) => n <= max, `must be a whole number from 1 to ${max}`);

const byteCount = z
  .string()
  .trim()
  .regex(/^[1-9][0-9]*$/, 'must be a positive whole number of bytes')
  .transform(Number)
  .refine(Number.isSafeInteger, `must be at most ${Number.MAX_SAFE_INTEGER} bytes`);

const count = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^[0-9]{1,4}$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max}`);

// `Number()` as these settings always took them (so " 50 " and "5e1" are 50).
const integer = (min: number, max: number, what: string) =>
  z
    .string()
    .transform(Number)
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, `must be an integer from ${min} to ${max} (${what})`);

// A day at most: the TTL is how late a revoked or disabled KEK is noticed.
const cacheSeconds = z.coerce.number().int().min(0).max(86_400);

// HPKE keys announce their successor 30 days ahead (NEXT_LEAD_MS, `shared/hpke/key-lifecycle.ts`),
// so a key must live longer than that.
const HPKE_MIN_LIFETIME_DAYS = 31;

const operatorVaultUrls = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== ''),
  )
  .refine((urls) => urls.every((u) => httpsUrl.safeParse(u).success), 'must list https URLs separated by commas')
  .transform((urls): readonly string[] => urls.map((u) => new URL(u).origin));

/**
 * Every app setting cipherflow reads, each declared once. `loadConfig` (`app-config.ts`) parses
 * them into the one typed configuration; settings the Functions host or the Azure SDK read on
 * their own (`FUNCTIONS_WORKER_RUNTIME`, `AzureWebJobsStorage__credential`, ...) are not here.
 */
export const SETTINGS = {
  // The app and its storage.
  CIPHERFLOW_ENV: {
    part: 'core',
    description:
      '`local` enables development-only conveniences (the development issuer, placeholders, http URLs); `production` refuses them',
    parse: z.enum(['local', 'production']),
    default: 'production',
    required: 'optional',
  },
  AzureWebJobsStorage: {
    part: 'core',
    description:
      "connection string of the app's storage (`UseDevelopmentStorage=true`: Azurite); or `AzureWebJobsStorage__accountName`",
    parse: z.string().min(1),
    required: 'one-way',
  },
  AzureWebJobsStorage__accountName: {
    part: 'core',
    description: "the app's storage account reached with the managed identity; or `AzureWebJobsStorage`",
    parse: storageAccountName,
    required: 'one-way',
  },
  AzureWebJobsStorage__blobServiceUri: {
    part: 'core',
    description: 'blob endpoint of that account (default from its name)',
    parse: httpsUrl,
    required: 'optional',
  },
  AzureWebJobsStorage__tableServiceUri: {
    part: 'core',
    description: 'table endpoint of that account (default from its name)',
    parse: httpsUrl,
    required: 'optional',
  },
  AzureWebJobsStorage__queueServiceUri: {
    part: 'core',
    description: 'queue endpoint of that account (default from its name)',
    parse: httpsUrl,
    required: 'optional',
  },
  SYSTEM_KEY_VAULT_URL: {
    part: 'core',
    description: 'https URL of the vault holding the system KEK',
    parse: httpsUrl,
    required: 'always',
  },
  SYSTEM_KEY_NAME: {
    part: 'core',
    description: 'name of the system KEK in that vault',
    parse: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/),
    default: 'cipherflow-system-kek',
    required: 'optional',
  },
  AZURE_TENANT_ID: {
    part: 'core',
    description: "our tenant: with `CMK_APP_CLIENT_ID`, customers' vaults in other tenants are reached as the CMK app",
    parse: z.uuid(),
    required: 'optional',
  },
  AZURE_CLIENT_ID: {
    part: 'core',
    description: 'the user-assigned managed identity (absent: system-assigned)',
    parse: z.uuid(),
    required: 'optional',
  },
  LandingStorage: {
    part: 'core',
    description:
      "connection string of the landing account (its key signs the zones' SAS); or `LandingStorage__accountName`",
    parse: z.string().min(1),
    required: 'one-way',
  },
  LandingStorage__accountName: {
    part: 'core',
    description:
      'the landing account reached with the managed identity, with `LANDING_ACCOUNT_RESOURCE_ID`; or `LandingStorage`',
    parse: storageAccountName,
    required: 'one-way',
  },
  LandingStorage__blobServiceUri: {
    part: 'core',
    description: 'blob endpoint of the landing account (default from its name)',
    parse: httpsUrl,
    required: 'optional',
  },
  LANDING_ACCOUNT_RESOURCE_ID: {
    part: 'core',
    description:
      'ARM id of the landing account, whose key is read at run time (listKeys), with `LandingStorage__accountName`',
    parse: z
      .string()
      .regex(
        /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}$/i,
        'must be a storage account resource id',
      ),
    required: 'one-way',
  },
  LANDING_ZONE_SAS_DAYS: {
    part: 'core',
    description: "life of a landing zone's credential, in days (at most 3650)",
    parse: days(3650),
    default: '90',
    required: 'optional',
  },
  LANDING_ZONE_TTL_DAYS: {
    part: 'core',
    description: 'days a file stays in a landing zone (at most 365)',
    parse: days(365),
    default: '7',
    required: 'optional',
  },
  HEALTH_PROBE_SECONDS: {
    part: 'core',
    description:
      'how long an instance answers `/health` from its last probe of storage and the system vault (at most 3600)',
    parse: seconds(3600),
    default: '10',
    required: 'optional',
  },
  PUBLIC_BASE_URL: {
    part: 'core',
    description:
      "the API's public https URL (origin and optional path prefix), the base of every absolute link it answers",
    parse: nonEmpty,
    required: 'production',
  },

  // The root key cache.
  KEY_CACHE_TTL_SECONDS: {
    part: 'keyCache',
    description: 'how long an unwrapped root key is cached: how late a revocation is noticed at worst (0 to 86400)',
    parse: cacheSeconds,
    default: String(DEFAULT_KEY_CACHE_TTL_SECONDS),
    required: 'optional',
  },
  KEY_CACHE_MAX_STALE_SECONDS: {
    part: 'keyCache',
    description:
      'how long past its TTL a cached root key serves while the vault is unreachable, never after a refusal (0 to 86400)',
    parse: cacheSeconds,
    default: '3600',
    required: 'optional',
  },

  // Bearer tokens.
  AUTH_ISSUER: {
    part: 'auth',
    description: 'the `iss` of accepted tokens; the development issuer is refused outside local mode',
    parse: nonEmpty,
    localDefault: DEV_ISSUER,
    required: 'production',
  },
  AUTH_AUDIENCE: {
    part: 'auth',
    description: 'the `aud` of accepted tokens',
    parse: nonEmpty,
    localDefault: DEV_AUDIENCE,
    required: 'production',
  },
  AUTH_JWKS_URL: {
    part: 'auth',
    description: "the issuer's JWKS (https outside local mode)",
    parse: z.url({ protocol: /^https?$/ }),
    localDefault: `http://127.0.0.1:${DEV_ISSUER_PORT}${DEV_JWKS_PATH}`,
    required: 'production',
  },
  AUTH_CLIENT_ID_CLAIM: {
    part: 'auth',
    description: 'claim holding the client id that `x-api-key` must equal',
    parse: claimName,
    default: 'client_id',
    required: 'optional',
  },
  AUTH_ORG_CLAIM: {
    part: 'auth',
    description: 'claim holding the granted organization id(s)',
    parse: claimName,
    default: 'org',
    required: 'optional',
  },
  AUTH_SANDBOX_CLAIM: {
    part: 'auth',
    description: 'claim holding the sandboxes a token may work in; unset, sandboxes are no boundary',
    parse: claimName,
    required: 'optional',
  },

  // Customer-managed keys.
  CMK_APP_CLIENT_ID: {
    part: 'cmk',
    description: 'application (client) id of our multi-tenant CMK app',
    parse: z.uuid(),
    localDefault: '00000000-0000-4000-8000-00000000c3c3',
    required: 'production',
  },
  CMK_APP_NAME: {
    part: 'cmk',
    description: 'name of the CMK app',
    parse: z.string().regex(/^[A-Za-z0-9._-]{1,120}$/),
    localDefault: 'cipherflow-cmk-local',
    required: 'production',
  },
  CMK_APP_URI: {
    part: 'cmk',
    description: 'https URI of the CMK app, also its consent redirect URI',
    parse: httpsUrl,
    localDefault: 'https://localhost/cipherflow-cmk',
    required: 'production',
  },
  CMK_OWNERSHIP_GRACE_DAYS: {
    part: 'cmk',
    description:
      'how long a config that took effect before keys had to prove their owner keeps working without the proof (0 to 365)',
    parse: z.coerce.number().int().min(0).max(365),
    default: '30',
    required: 'optional',
    blankIsAbsent: true,
  },
  CMK_OPERATOR_VAULT_URLS: {
    part: 'cmk',
    description:
      'comma-separated https URLs of vaults we operate besides `SYSTEM_KEY_VAULT_URL`: no key in them is a customer key',
    parse: operatorVaultUrls,
    required: 'optional',
    blankIsAbsent: true,
  },
  CMK_UNREACHABLE_GIVE_UP_MINUTES: {
    part: 'cmk',
    description: 'a RUNNING config whose vault has not answered for this long ends FAILED (1 to 10080)',
    parse: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60),
    default: '60',
    required: 'optional',
    blankIsAbsent: true,
  },

  // Triggers and ingestion.
  LANDING_EVENTS_QUEUE: {
    part: 'triggers',
    description: "queue of the landing account's `BlobCreated` events, in the app's storage",
    parse: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a storage queue name'),
    default: 'landing-events',
    required: 'optional',
  },
  LANDING_TTL_SCHEDULE: {
    part: 'triggers',
    description: 'NCRONTAB of deleting landing-zone files past their TTL (the local timer; off in Azure)',
    parse: ncrontab,
    default: '0 30 * * * *',
    required: 'optional',
  },
  CMK_RECONCILE_SCHEDULE: {
    part: 'triggers',
    description: 'NCRONTAB of the CMK reconciler',
    parse: ncrontab,
    default: '0 */1 * * * *',
    required: 'optional',
  },
  HPKE_ROTATE_SCHEDULE: {
    part: 'triggers',
    description: 'NCRONTAB of the HPKE key rotation',
    parse: ncrontab,
    default: '0 5 * * * *',
    required: 'optional',
  },
  SYSTEM_KEK_ROTATE_SCHEDULE: {
    part: 'triggers',
    description: 'NCRONTAB of following a new version of the system KEK',
    parse: ncrontab,
    default: '0 0 * * * *',
    required: 'optional',
  },
  FLOW_SCHEDULE_SCHEDULE: {
    part: 'triggers',
    description: "NCRONTAB of starting the due runs of dataflows that read a customer's storage",
    parse: ncrontab,
    default: '*/15 * * * * *',
    required: 'optional',
  },
  INGEST_RETRY_SCHEDULE: {
    part: 'triggers',
    description: 'NCRONTAB of the retries of files parked during a Key Vault outage',
    parse: ncrontab,
    default: '*/15 * * * * *',
    required: 'optional',
  },
  MAX_FILE_BYTES: {
    part: 'triggers',
    description: 'largest decrypted file ingested, in bytes; bigger ones fail with FILE_TOO_LARGE',
    parse: byteCount,
    default: String(DEFAULT_MAX_FILE_BYTES),
    required: 'optional',
  },
  MAX_COMPRESSION_RATIO: {
    part: 'triggers',
    description: 'most bytes any inflate may produce per compressed byte, past its first 4 MiB (1 to 999999999)',
    parse: wholeNumber(999_999_999),
    default: String(DEFAULT_MAX_COMPRESSION_RATIO),
    required: 'optional',
  },
  MAX_PKESK_PER_MESSAGE: {
    part: 'triggers',
    description: 'most session key packets naming our key or a hidden recipient tried per file (1 to 999)',
    parse: wholeNumber(999),
    default: String(DEFAULT_MAX_PKESK_PER_MESSAGE),
    required: 'optional',
  },

  // The HTTP pipeline.
  API_RATE_LIMIT_PER_ORG: {
    part: 'http',
    description: `requests per second an org may make to one instance (1 to ${MAX_RATE_LIMIT_PER_ORG})`,
    parse: integer(1, MAX_RATE_LIMIT_PER_ORG, 'requests per second per org'),
    default: '200',
    required: 'optional',
    blankIsAbsent: true,
  },
  REQUEST_BODY_TIMEOUT_SECONDS: {
    part: 'http',
    description: 'how long a request body may take to arrive in all (1 to 3600); it may pause 10 s at most',
    parse: integer(1, 3600, 'seconds a request body may take to arrive'),
    default: String(DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS),
    required: 'optional',
    blankIsAbsent: true,
  },

  // Private-key work.
  PRIVATE_KEY_WORKERS: {
    part: 'privateKeyPool',
    description: 'worker threads that run every private-key operation (1 to 64)',
    parse: count(64).refine((n) => n >= 1, 'must be at least 1'),
    computedDefault: 'cores − 1 (1 to 4)',
    required: 'optional',
  },
  PRIVATE_KEY_WAITING: {
    part: 'privateKeyPool',
    description:
      'API requests that may wait for a busy private-key worker before the next is answered 503 SERVER_BUSY (0 to 10000)',
    parse: count(10_000),
    default: String(DEFAULT_PRIVATE_KEY_WAITING),
    required: 'optional',
  },

  // HPKE.
  HPKE_KEY_LIFETIME_DAYS: {
    part: 'hpke',
    description: `how long each HPKE server key is active, in days (${HPKE_MIN_LIFETIME_DAYS} to 3650)`,
    parse: z.coerce.number().int().min(HPKE_MIN_LIFETIME_DAYS).max(3650),
    default: '365',
    required: 'optional',
  },

  // Logs.
  LOG_LEVEL: {
    part: 'logging',
    description: 'the least severe level logged',
    parse: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
    default: 'info',
    required: 'optional',
  },
} as const satisfies Record<string, SettingDeclaration>;

/** The name of a declared setting. */
export type SettingName = keyof typeof SETTINGS;
