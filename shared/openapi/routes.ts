/**
 * The API's route table as documentation: one row per HTTP operation the function app registers,
 * holding the same zod schema object the function hands the pipeline for its body. The OpenAPI
 * document is generated from it (`document.ts`) and `test/openapi/` compares it with the routes the
 * runtime registers, both ways, so a route added without a row (or a row without a route) fails.
 */
import type { z } from 'zod';
import { BatchListQuery } from '../catalog/batches.js';
import { CreateDatasetRequest } from '../catalog/datasets.js';
import { ByokConfigQuery, CreateByokConfigRequest } from '../cmk/byok-configs.js';
import type { ErrorCode } from '../errors.js';
import { CreateFlowRequest } from '../flows/flows.js';
import { RunsQuery } from '../flows/runs-query.js';
import { CreateSourceConnectionRequest } from '../flows/source-connections.js';
import { CreateTargetConnectionRequest } from '../flows/target-connections.js';
import { PutClientKeyRequest } from '../hpke/client-keys.js';
import type { QuerySchema } from '../http/query.js';
import { PutEncryptionSettingsRequest } from '../hpke/org-settings.js';
import { HPKE_CHUNKED_MEDIA_TYPE } from '../hpke/wire-format.js';
import { RegisterCustomerKeyRequest } from '../pgp-keys/customer-keys.js';
import { CreateEncryptionKeyRequest } from '../pgp-keys/encryption-keys.js';
import { CreateSandboxRequest, SandboxListQuery } from '../sandboxes/sandboxes.js';
import { ExploreQuery } from '../landing-zones/explore.js';
import { LandingZoneQuery, LandingZoneRefreshQuery } from '../landing-zones/landing-zones.js';
import * as R from './response-schemas.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type RouteTag =
  | 'PGP keys'
  | 'Catalog'
  | 'Flow Service'
  | 'Data access'
  | 'Customer-managed keys'
  | 'API payload encryption'
  | 'Sandboxes'
  | 'Landing zones'
  | 'Operations';

/** A successful answer of an operation. */
export interface SuccessDoc {
  readonly status: number;
  readonly description: string;
  /** JSON body shape (`application/json`), omitted for empty answers and streams. */
  readonly schema?: z.ZodType;
  /** Other media types of the body (streams, RFC 9458 key configurations). */
  readonly mediaTypes?: readonly string[];
}

export interface RouteDoc {
  /** The Azure Function's name (`app.http(name, ...)`), used as the operation id. */
  readonly operationId: string;
  readonly method: HttpMethod;
  /** The Functions route template exactly as registered (no leading slash; `{name}` parameters). */
  readonly route: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: RouteTag;
  /** `required`: bearer token, `x-api-key`, `x-gw-ims-org-id` (and `x-sandbox-name`). */
  readonly auth: 'required' | 'none';
  /** The JSON body schema the function validates with; its name becomes the component name. */
  readonly request?: { readonly name: string; readonly schema: z.ZodType };
  /** The query schema the function parses with (`parseQuery`); its fields become the query parameters. */
  readonly query?: QuerySchema;
  readonly success: readonly SuccessDoc[];
  /** Problem codes of this operation beyond the ones every operation of its kind may return. */
  readonly problems?: readonly ErrorCode[];
  /** An org-wide setting: only the production sandbox may use it (PRODUCTION_SANDBOX_REQUIRED). */
  readonly orgWide?: true;
  /**
   * Whether the JSON body and answer may travel HPKE-encrypted (`application/octet-stream+hpke`).
   * True for every authenticated JSON route; false for public routes (no tenant to encrypt to)
   * and streaming downloads, which list the sealed stream (`application/octet-stream+hpke-chunked`)
   * among their media types instead.
   */
  readonly hpke: boolean;
}

const PGP_KEYS = 'data/foundation/connectors/encryption';
const SANDBOXES = 'data/foundation/sandbox-management/sandboxes';

/** Every HTTP operation, grouped as the README lists them. The catch-all 404 route is not an operation. */
export const ROUTES: readonly RouteDoc[] = [
  {
    operationId: 'encryption-keys-create',
    method: 'POST',
    route: `${PGP_KEYS}/keys`,
    summary: 'Create a PGP key pair',
    description:
      'The private key and its passphrase stay in cipherflow, envelope-encrypted; the answer holds the public key.',
    tag: 'PGP keys',
    auth: 'required',
    request: { name: 'CreateEncryptionKeyRequest', schema: CreateEncryptionKeyRequest },
    success: [{ status: 200, description: 'The key pair was created', schema: R.EncryptionKeyCreated }],
    problems: ['SERVER_BUSY'],
    hpke: true,
  },
  {
    operationId: 'encryption-keys-list',
    method: 'GET',
    route: `${PGP_KEYS}/keys`,
    summary: 'List PGP key pairs',
    tag: 'PGP keys',
    auth: 'required',
    success: [{ status: 200, description: 'The keys of the org and sandbox', schema: R.EncryptionKeyList }],
    hpke: true,
  },
  {
    operationId: 'encryption-keys-get',
    method: 'GET',
    route: `${PGP_KEYS}/keys/{publicKeyId}`,
    summary: 'Get a PGP key pair',
    tag: 'PGP keys',
    auth: 'required',
    success: [{ status: 200, description: 'The key', schema: R.EncryptionKey }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'encryption-keys-delete',
    method: 'DELETE',
    route: `${PGP_KEYS}/keys/{publicKeyId}`,
    summary: 'Delete a PGP key pair',
    tag: 'PGP keys',
    auth: 'required',
    success: [{ status: 204, description: 'Deleted' }],
    problems: ['NOT_FOUND', 'KEY_IN_USE'],
    hpke: true,
  },
  {
    operationId: 'encryption-keys-validate',
    method: 'GET',
    route: `${PGP_KEYS}/keys/validate/{publicKeyId}`,
    summary: 'Check whether a PGP key pair is active or expired',
    tag: 'PGP keys',
    auth: 'required',
    success: [{ status: 200, description: 'The key status', schema: R.EncryptionKeyValidation }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'customer-keys-create',
    method: 'POST',
    route: `${PGP_KEYS}/customer-keys`,
    summary: "Register a customer's signing public key",
    tag: 'PGP keys',
    auth: 'required',
    request: { name: 'RegisterCustomerKeyRequest', schema: RegisterCustomerKeyRequest },
    success: [{ status: 200, description: 'Registered', schema: R.CustomerKeyRegistered }],
    problems: [
      'INVALID_PUBLIC_KEY',
      'PRIVATE_KEY_NOT_ALLOWED',
      'KEY_EXPIRED',
      'KEY_REVOKED',
      'NO_SIGNING_KEY',
      'KEY_TOO_WEAK',
      'UNSUPPORTED_PGP_FEATURE',
    ],
    hpke: true,
  },
  {
    operationId: 'customer-keys-list',
    method: 'GET',
    route: `${PGP_KEYS}/customer-keys`,
    summary: "List the customer's registered signing keys",
    tag: 'PGP keys',
    auth: 'required',
    success: [{ status: 200, description: 'The registered keys', schema: R.CustomerKeyList }],
    hpke: true,
  },
  {
    operationId: 'datasets-create',
    method: 'POST',
    route: 'data/foundation/catalog/dataSets',
    summary: 'Create a dataset',
    tag: 'Catalog',
    auth: 'required',
    request: { name: 'CreateDatasetRequest', schema: CreateDatasetRequest },
    success: [{ status: 201, description: 'Created: `["@/dataSets/{id}"]`', schema: R.CatalogReferences }],
    hpke: true,
  },
  {
    operationId: 'datasets-get',
    method: 'GET',
    route: 'data/foundation/catalog/dataSets/{id}',
    summary: 'Get a dataset',
    tag: 'Catalog',
    auth: 'required',
    success: [{ status: 200, description: '`{ "<id>": { ...dataset } }`', schema: R.CatalogObjectMap }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'batches-list',
    method: 'GET',
    route: 'data/foundation/catalog/batches',
    summary: "List a dataset's batches",
    tag: 'Catalog',
    auth: 'required',
    query: BatchListQuery,
    success: [{ status: 200, description: '`{ "<batchId>": { ...batch } }`', schema: R.CatalogObjectMap }],
    hpke: true,
  },
  {
    operationId: 'batch-files-list',
    method: 'GET',
    route: 'data/foundation/export/batches/{batchId}/files',
    summary: "List a batch's files",
    tag: 'Data access',
    auth: 'required',
    success: [{ status: 200, description: 'The files with their `dataSetFileId`', schema: R.BatchFiles }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'export-files-get',
    method: 'GET',
    route: 'data/foundation/export/files/{fileId}',
    summary: "Download a file's plaintext",
    description:
      'Streamed, decrypted from its at-rest envelope as it is sent. With `Accept: application/octet-stream+hpke-chunked` (and `x-hpke-format: 2`) sealed to your client key as a stream of HPKE chunks (README, "Streamed answers"); required when the org requires encryption (`HPKE_REQUIRED`). As one `application/octet-stream+hpke` message: `HPKE_NOT_ACCEPTABLE`.',
    tag: 'Data access',
    auth: 'required',
    success: [
      {
        status: 200,
        description: 'The file',
        mediaTypes: ['application/octet-stream', 'text/csv', 'application/json', HPKE_CHUNKED_MEDIA_TYPE],
      },
    ],
    problems: ['NOT_FOUND', 'HPKE_NOT_ACCEPTABLE', 'HPKE_REQUIRED', 'HPKE_NO_CLIENT_KEY', 'HPKE_FORMAT_UNSUPPORTED', 'CMK_ACCESS_REVOKED', 'KEY_VAULT_UNAVAILABLE'],
    hpke: false,
  },
  {
    operationId: 'source-connections-create',
    method: 'POST',
    route: 'data/foundation/flowservice/sourceConnections',
    summary: 'Create a source connection (where files land)',
    tag: 'Flow Service',
    auth: 'required',
    request: { name: 'CreateSourceConnectionRequest', schema: CreateSourceConnectionRequest },
    success: [{ status: 201, description: 'Created', schema: R.FlowServiceCreated }],
    hpke: true,
  },
  {
    operationId: 'source-connections-get',
    method: 'GET',
    route: 'data/foundation/flowservice/sourceConnections/{id}',
    summary: 'Get a source connection',
    tag: 'Flow Service',
    auth: 'required',
    success: [{ status: 200, description: '`{ items: [connection] }`', schema: R.itemsOf(R.SourceConnection) }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'target-connections-create',
    method: 'POST',
    route: 'data/foundation/flowservice/targetConnections',
    summary: 'Create a target connection (the dataset files go to)',
    tag: 'Flow Service',
    auth: 'required',
    request: { name: 'CreateTargetConnectionRequest', schema: CreateTargetConnectionRequest },
    success: [{ status: 201, description: 'Created', schema: R.FlowServiceCreated }],
    hpke: true,
  },
  {
    operationId: 'target-connections-get',
    method: 'GET',
    route: 'data/foundation/flowservice/targetConnections/{id}',
    summary: 'Get a target connection',
    tag: 'Flow Service',
    auth: 'required',
    success: [{ status: 200, description: '`{ items: [connection] }`', schema: R.itemsOf(R.TargetConnection) }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'flows-create',
    method: 'POST',
    route: 'data/foundation/flowservice/flows',
    summary: 'Create a dataflow (source → Encryption → target)',
    tag: 'Flow Service',
    auth: 'required',
    request: { name: 'CreateFlowRequest', schema: CreateFlowRequest },
    success: [{ status: 201, description: 'Created', schema: R.FlowServiceCreated }],
    problems: ['NOT_FOUND', 'CONFLICT'],
    hpke: true,
  },
  {
    operationId: 'flows-list',
    method: 'GET',
    route: 'data/foundation/flowservice/flows',
    summary: 'List dataflows',
    tag: 'Flow Service',
    auth: 'required',
    success: [{ status: 200, description: '`{ items: [flows] }`', schema: R.itemsOf(R.Flow) }],
    hpke: true,
  },
  {
    operationId: 'flows-get',
    method: 'GET',
    route: 'data/foundation/flowservice/flows/{id}',
    summary: 'Get a dataflow',
    tag: 'Flow Service',
    auth: 'required',
    success: [{ status: 200, description: '`{ items: [flow] }`', schema: R.itemsOf(R.Flow) }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'flows-delete',
    method: 'DELETE',
    route: 'data/foundation/flowservice/flows/{id}',
    summary: 'Delete a dataflow',
    tag: 'Flow Service',
    auth: 'required',
    success: [{ status: 204, description: 'Deleted' }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'runs-list',
    method: 'GET',
    route: 'data/foundation/flowservice/runs',
    summary: "List a dataflow's runs (one per file), newest first",
    tag: 'Flow Service',
    auth: 'required',
    query: RunsQuery,
    success: [{ status: 200, description: '`{ items: [runs] }`', schema: R.itemsOf(R.FlowRun) }],
    hpke: true,
  },
  {
    operationId: 'cmk-app-registration-get',
    method: 'GET',
    route: 'data/infrastructure/manager/byok/app-registration',
    summary: 'Get the CMK application to consent to',
    tag: 'Customer-managed keys',
    auth: 'required',
    success: [{ status: 200, description: 'The multi-tenant application', schema: R.CmkAppRegistration }],
    hpke: true,
  },
  {
    operationId: 'cmk-configs-create',
    orgWide: true,
    method: 'POST',
    route: 'data/infrastructure/manager/customer/config',
    summary: "Send the customer's Key Vault key identifier",
    tag: 'Customer-managed keys',
    auth: 'required',
    request: { name: 'CreateByokConfigRequest', schema: CreateByokConfigRequest },
    success: [{ status: 200, description: 'Accepted (status NEW); a config of the org still NEW or RUNNING ends FAILED CONFIG_REPLACED', schema: R.ByokConfigCreated }],
    problems: ['CONFLICT', 'CMK_KEY_NOT_OWNED'],
    hpke: true,
  },
  {
    operationId: 'cmk-configs-get',
    orgWide: true,
    method: 'GET',
    route: 'data/infrastructure/manager/customer/config/{name}',
    summary: 'Get a CMK configuration and its status',
    tag: 'Customer-managed keys',
    auth: 'required',
    query: ByokConfigQuery,
    success: [{ status: 200, description: 'The configuration', schema: R.ByokConfig }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'cmk-configs-delete',
    orgWide: true,
    method: 'DELETE',
    route: 'data/infrastructure/manager/customer/config/{name}',
    summary: 'Delete a CMK configuration that never took effect (NEW, RUNNING or FAILED)',
    tag: 'Customer-managed keys',
    auth: 'required',
    query: ByokConfigQuery,
    success: [{ status: 204, description: 'Deleted' }],
    problems: ['NOT_FOUND', 'CONFLICT', 'CMK_IRREVERSIBLE'],
    hpke: true,
  },
  {
    operationId: 'api-encryption-keys-list',
    method: 'GET',
    route: 'api-encryption/keys',
    summary: "List cipherflow's HPKE public keys",
    description: 'Public. With `Accept: application/ohttp-keys`, the same keys as RFC 9458 §3 key configurations.',
    tag: 'API payload encryption',
    auth: 'none',
    success: [
      {
        status: 200,
        description: 'The next, active and retiring keys',
        schema: R.HpkeServerKeys,
        mediaTypes: ['application/ohttp-keys'],
      },
    ],
    hpke: false,
  },
  {
    operationId: 'api-encryption-client-keys-list',
    orgWide: true,
    method: 'GET',
    route: 'api-encryption/client-keys',
    summary: "List the org's client keys (responses are encrypted to them)",
    tag: 'API payload encryption',
    auth: 'required',
    success: [{ status: 200, description: 'The client keys', schema: R.HpkeClientKeys }],
    hpke: true,
  },
  {
    operationId: 'api-encryption-client-keys-put',
    orgWide: true,
    method: 'PUT',
    route: 'api-encryption/client-keys/{keyId}',
    summary: 'Register or replace a client key (key id 0..255)',
    tag: 'API payload encryption',
    auth: 'required',
    request: { name: 'PutClientKeyRequest', schema: PutClientKeyRequest },
    success: [
      { status: 201, description: 'Registered', schema: R.HpkeClientKey },
      { status: 200, description: 'Unchanged', schema: R.HpkeClientKey },
      {
        status: 202,
        description: 'Replacing: `pending.effectiveTime` says when the new key takes over',
        schema: R.HpkeClientKey,
      },
    ],
    problems: ['HPKE_INVALID_PUBLIC_KEY'],
    hpke: true,
  },
  {
    operationId: 'api-encryption-client-keys-delete',
    orgWide: true,
    method: 'DELETE',
    route: 'api-encryption/client-keys/{keyId}',
    summary: 'Delete a client key',
    tag: 'API payload encryption',
    auth: 'required',
    success: [{ status: 204, description: 'Deleted' }],
    problems: ['NOT_FOUND', 'HPKE_CLIENT_KEY_REQUIRED'],
    hpke: true,
  },
  {
    operationId: 'api-encryption-settings-put',
    orgWide: true,
    method: 'PUT',
    route: 'api-encryption/settings',
    summary: 'Require HPKE-encrypted requests and answers for the org',
    tag: 'API payload encryption',
    auth: 'required',
    request: { name: 'PutEncryptionSettingsRequest', schema: PutEncryptionSettingsRequest },
    success: [{ status: 200, description: 'The settings', schema: R.EncryptionSettings }],
    problems: ['HPKE_CLIENT_KEY_REQUIRED'],
    hpke: true,
  },
  {
    operationId: 'landing-zone-get',
    method: 'GET',
    route: 'data/foundation/connectors/landingzone',
    summary: "The sandbox's landing zone (created on first use)",
    tag: 'Landing zones',
    auth: 'required',
    query: LandingZoneQuery,
    success: [{ status: 200, description: '`{ containerName, containerTTL }`', schema: R.LandingZone }],
    hpke: true,
  },
  {
    operationId: 'landing-zone-credentials-get',
    method: 'GET',
    route: 'data/foundation/connectors/landingzone/credentials',
    summary: "The landing zone's current upload credential (a container SAS)",
    description: 'The same SAS on every call until a refresh. Permissions and expiry are in the stored access policy the SAS names (`si`).',
    tag: 'Landing zones',
    auth: 'required',
    query: LandingZoneQuery,
    success: [{ status: 200, description: 'The credential', schema: R.LandingZoneCredential }],
    hpke: true,
  },
  {
    operationId: 'landing-zone-credentials-refresh',
    method: 'POST',
    route: 'data/foundation/connectors/landingzone/credentials',
    summary: "Revoke the zone's credentials and issue a new one",
    description: 'Every earlier SAS of this zone stops working (Azure may take up to 30 s); no other zone is touched.',
    tag: 'Landing zones',
    auth: 'required',
    query: LandingZoneRefreshQuery,
    success: [{ status: 200, description: 'The new credential', schema: R.LandingZoneCredential }],
    hpke: true,
  },
  {
    operationId: 'landing-zone-explore',
    method: 'GET',
    route: 'data/foundation/flowservice/connectionSpecs/{connectionSpecId}/explore',
    summary: "List the landing zone's files and folders",
    description: 'Only the Data Landing Zone spec `26f526f2-58f4-4712-961d-e41bf1ccc0e8`. The next page\'s token is in `x-continuation-token`; send it as `start`.',
    tag: 'Landing zones',
    auth: 'required',
    query: ExploreQuery,
    success: [{ status: 200, description: "Adobe's bare array of items", schema: R.ExploreItems }],
    problems: ['NOT_FOUND'],
    hpke: true,
  },
  {
    operationId: 'sandboxes-list',
    method: 'GET',
    route: `${SANDBOXES}`,
    summary: "List the organization's sandboxes",
    description: '`prod` exists from the start; the others are created with POST.',
    tag: 'Sandboxes',
    auth: 'required',
    query: SandboxListQuery,
    success: [{ status: 200, description: '`{ sandboxes, _page, _links }`', schema: R.SandboxList }],
    hpke: true,
  },
  {
    operationId: 'sandboxes-create',
    method: 'POST',
    route: `${SANDBOXES}`,
    summary: 'Create a sandbox',
    tag: 'Sandboxes',
    auth: 'required',
    orgWide: true,
    request: { name: 'CreateSandboxRequest', schema: CreateSandboxRequest },
    success: [{ status: 201, description: 'The sandbox, `active`', schema: R.Sandbox }],
    problems: ['CONFLICT'],
    hpke: true,
  },
  {
    operationId: 'sandboxes-get',
    method: 'GET',
    route: `${SANDBOXES}/{name}`,
    summary: 'Get a sandbox',
    tag: 'Sandboxes',
    auth: 'required',
    success: [{ status: 200, description: 'The sandbox', schema: R.Sandbox }],
    hpke: true,
  },
  {
    operationId: 'sandboxes-delete',
    method: 'DELETE',
    route: `${SANDBOXES}/{name}`,
    summary: 'Delete an empty development sandbox',
    tag: 'Sandboxes',
    auth: 'required',
    orgWide: true,
    success: [{ status: 200, description: 'The sandbox as it was, `state: "deleted"`', schema: R.Sandbox }],
    problems: ['SANDBOX_NOT_EMPTY', 'SANDBOX_NOT_DELETABLE'],
    hpke: true,
  },
  {
    operationId: 'health',
    method: 'GET',
    route: 'health',
    summary: 'Whether storage and the system Key Vault answer',
    tag: 'Operations',
    auth: 'none',
    success: [
      { status: 200, description: 'Healthy', schema: R.Health },
      { status: 503, description: 'A dependency is down', schema: R.Health },
    ],
    hpke: false,
  },
  {
    operationId: 'openapi-get',
    method: 'GET',
    route: 'openapi.json',
    summary: 'This OpenAPI 3.1 document',
    tag: 'Operations',
    auth: 'none',
    success: [{ status: 200, description: 'The document' }],
    hpke: false,
  },
];
