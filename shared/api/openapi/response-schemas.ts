/**
 * Shapes of the API's JSON answers, for the OpenAPI document and for clients (the `cipherflow`
 * CLI parses every answer it reads with these, so its end-to-end tests check them against the
 * live API). The handlers do not validate their own output against them: request schemas are the
 * ones the pipeline enforces, these are the contract clients may rely on. Objects are loose so
 * that a member added later breaks no client.
 */
import { z } from 'zod';
import type { ErrorCode } from '../../errors.js';
import { PROBLEM_TABLE } from '../../http/problems.js';

const ERROR_CODES = Object.keys(PROBLEM_TABLE) as [ErrorCode, ...ErrorCode[]];

/** RFC 9457 problem document with our `code` and `requestId` members (`shared/http/problems.ts`). */
export const Problem = z.looseObject({
  type: z.string().describe('https://cipherflow.dev/problems/{code in kebab case}'),
  title: z.string().describe('Fixed per code'),
  status: z.int(),
  detail: z.string(),
  code: z.enum(ERROR_CODES),
  requestId: z.string().describe('Also in the x-request-id header and in our logs'),
  errors: z
    .array(z.looseObject({ field: z.string(), pointer: z.string().optional(), message: z.string() }))
    .optional()
    .describe('INVALID_REQUEST only: one entry per offending field'),
});
export type Problem = z.output<typeof Problem>;

export const EncryptionKeyCreated = z.looseObject({
  publicKey: z.string().describe('Base64 of the ASCII-armored OpenPGP public key'),
  publicKeyId: z.string(),
  expiryTime: z.string(),
});

export const EncryptionKey = z.looseObject({
  name: z.string(),
  encryptionAlgorithm: z.enum(['PGP', 'GPG']),
  publicKeyId: z.string(),
  publicKey: z.string().describe('Base64 of the ASCII-armored OpenPGP public key'),
  keyType: z.enum(['Curve25519', 'RSA']),
  fingerprint: z.string(),
  expiryTime: z.string(),
  createdTime: z.string(),
  status: z.string(),
});
export type EncryptionKey = z.output<typeof EncryptionKey>;

export const EncryptionKeyList = z.array(EncryptionKey);

export const EncryptionKeyValidation = z.looseObject({ publicKeyId: z.string(), status: z.string() });

export const CustomerKeyRegistered = z.looseObject({ publicKeyId: z.string() });

export const CustomerKey = z.looseObject({
  publicKeyId: z.string(),
  name: z.string(),
  encryptionAlgorithm: z.literal('PGP'),
  fingerprint: z.string(),
  publicKey: z.string(),
  createdTime: z.string(),
  expiryTime: z.string().optional(),
});

export const CustomerKeyList = z.array(CustomerKey);

/** Catalog's answer to a create: `["@/dataSets/{id}"]`. */
export const CatalogReferences = z.array(z.string().regex(/^@\/dataSets\/[0-9a-f]{24}$/));

/** Catalog's `{ "<id>": { ...object } }` map (datasets, batches). */
export const CatalogObjectMap = z.record(z.string(), z.looseObject({}));

/** Flow Service's answer to a create. */
export const FlowServiceCreated = z.looseObject({ id: z.string(), etag: z.string() });

export const BaseConnection = z.looseObject({
  id: z.string(),
  name: z.string(),
  connectionSpec: z.looseObject({ id: z.string(), version: z.string() }),
  auth: z.looseObject({ specName: z.string(), params: z.record(z.string(), z.union([z.string(), z.number()])) }),
  state: z.string(),
});

export const SourceConnection = z.looseObject({
  id: z.string(),
  name: z.string(),
  data: z.looseObject({ format: z.string() }),
  params: z.looseObject({ path: z.string() }),
});

export const TargetConnection = z.looseObject({
  id: z.string(),
  name: z.string(),
  params: z.looseObject({ dataSetId: z.string() }),
});

export const Flow = z.looseObject({
  id: z.string(),
  name: z.string(),
  sourceConnectionIds: z.array(z.string()),
  targetConnectionIds: z.array(z.string()),
  transformations: z.array(z.looseObject({ name: z.string() })),
  state: z.string(),
});

/** Flow Service's list/get answer: `{ items: [...] }`. */
export const itemsOf = <T extends z.ZodType>(item: T) => z.looseObject({ items: z.array(item) });

export const FlowRun = z.looseObject({
  id: z.string(),
  flowId: z.string(),
  fileName: z.string(),
  blobETag: z.string(),
  status: z.enum(['inProgress', 'success', 'failed']),
  errors: z.array(z.looseObject({ code: z.string(), message: z.string() })),
  metrics: z.looseObject({
    inputBytes: z.number(),
    outputBytes: z.number(),
    recordCount: z.number().optional(),
    durationMs: z.number(),
  }),
  batchId: z.string().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type FlowRun = z.output<typeof FlowRun>;

export const BatchFiles = z.looseObject({
  data: z.array(z.looseObject({ dataSetFileId: z.string(), dataSetViewId: z.string() })),
});

export const CmkAppRegistration = z.looseObject({
  id: z.string(),
  name: z.string(),
  applicationId: z.string(),
  applicationUri: z.string(),
  applicationRedirectUrl: z.string(),
});

export const ByokConfigData = z.looseObject({
  keyVaultUri: z.string(),
  keyVaultKeyIdentifier: z.string(),
  keyVersion: z.string().optional(),
  keyName: z.string(),
  providerType: z.string(),
});

export const ByokConfigCreated = z.looseObject({
  id: z.string(),
  config: z.looseObject({ name: z.string(), status: z.string(), configData: ByokConfigData }),
  status: z.string(),
});

export const ByokConfig = z.looseObject({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  status: z.string(),
  configData: ByokConfigData,
  activeKeyVersion: z.string().optional(),
  progress: z.looseObject({}).optional(),
  history: z.array(z.looseObject({ status: z.string(), at: z.string() })).optional(),
  failure: z.looseObject({ code: z.string(), message: z.string() }).optional(),
  ownership: z.looseObject({ verified: z.boolean(), enforcedFrom: z.string().optional() }).optional(),
});
export type ByokConfig = z.output<typeof ByokConfig>;

export const HpkeServerKeys = z.looseObject({
  keys: z.array(
    z.looseObject({
      keyId: z.int(),
      kemId: z.int(),
      kdfIds: z.array(z.int()),
      aeadIds: z.array(z.int()),
      publicKey: z.string().describe('base64url'),
      notBefore: z.string(),
      notAfter: z.string(),
      status: z.enum(['active', 'next', 'retiring']),
    }),
  ),
});

export const HpkeClientKey = z.looseObject({
  keyId: z.int(),
  kemId: z.int(),
  publicKey: z.string(),
  createdTime: z.string(),
  pending: z.looseObject({ kemId: z.int(), publicKey: z.string(), effectiveTime: z.string() }).optional(),
});

export const HpkeClientKeys = z.looseObject({ keys: z.array(HpkeClientKey) });

export const EncryptionSettings = z.looseObject({ requireEncryption: z.boolean() });

const DependencyHealth = z.looseObject({ status: z.enum(['up', 'down']) });

/** Anonymous: the states only, no reason, latency or address (those are logged). */
export const Health = z.looseObject({
  status: z.enum(['ok', 'degraded']),
  dependencies: z.looseObject({ storage: DependencyHealth, keyVault: DependencyHealth }),
});

export const Sandbox = z.looseObject({
  name: z.string(),
  title: z.string(),
  state: z.enum(['active', 'deleted']),
  type: z.enum(['production', 'development']),
  isDefault: z.boolean(),
  eTag: z.int(),
  createdDate: z.string().describe('`YYYY-MM-DD HH:mm:ss` UTC'),
  lastModifiedDate: z.string(),
  createdBy: z.string(),
  modifiedBy: z.string(),
});
export type Sandbox = z.output<typeof Sandbox>;

export const SandboxList = z.looseObject({
  sandboxes: z.array(Sandbox),
  _page: z.looseObject({ limit: z.int(), count: z.int() }),
  _links: z.looseObject({ next: z.looseObject({ href: z.string() }).optional() }),
});

export const LandingZone = z.looseObject({ containerName: z.string(), containerTTL: z.string().describe('Days a file stays in the zone') });

export const LandingZoneCredential = z.looseObject({
  containerName: z.string(),
  SASToken: z.string(),
  storageAccountName: z.string(),
  SASUri: z.string(),
  expiryDate: z.string().describe('`YYYY-MM-DD` (UTC)'),
});
export type LandingZoneCredential = z.output<typeof LandingZoneCredential>;

export const ExploreItems = z.array(
  z.looseObject({
    type: z.enum(['file', 'folder']),
    name: z.string(),
    path: z.string(),
    canPreview: z.boolean(),
    canFetchSchema: z.boolean(),
  }),
);
