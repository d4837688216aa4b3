/** Codes of a customer public key that cannot be registered. */
export const PUBLIC_KEY_REJECTIONS = [
  'INVALID_PUBLIC_KEY',
  'PRIVATE_KEY_NOT_ALLOWED',
  'KEY_EXPIRED',
  'KEY_REVOKED',
  'NO_SIGNING_KEY',
  'KEY_TOO_WEAK',
  'UNSUPPORTED_PGP_FEATURE',
] as const;
export type PublicKeyRejection = (typeof PUBLIC_KEY_REJECTIONS)[number];

/**
 * Every failure the API reports, as a stable machine code: the closed union callers
 * `switch (err.code)` on.
 *
 * Codes say what went wrong, never how HTTP answers it: the status, title and headers of each
 * code are the HTTP layer's (`shared/http/problems.ts`), whose table has a row per code, so a
 * code added here does not compile until it has its answer there. Facts an answer needs (when
 * to retry, which methods are allowed) are typed fields of the error, not headers.
 */
export const ERROR_CODES = [
  'INVALID_REQUEST',
  'UNAUTHENTICATED',
  'INVALID_API_KEY',
  'FORBIDDEN_ORG',
  'FORBIDDEN_SANDBOX',
  'PRODUCTION_SANDBOX_REQUIRED',
  'NOT_FOUND',
  'SANDBOX_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'REQUEST_TIMEOUT',
  'CONFLICT',
  'SANDBOX_NOT_EMPTY',
  'SANDBOX_NOT_DELETABLE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  // PGP keys a caller registers (customer signature-verification keys).
  ...PUBLIC_KEY_REJECTIONS,
  'KEY_IN_USE',
  // Cloud storage sources (the customer's Azure Blob container or SFTP server) and every outbound call.
  'ADDRESS_NOT_ALLOWED',
  'SOURCE_UNREACHABLE',
  'SOURCE_AUTH_FAILED',
  'SOURCE_HOST_KEY_MISMATCH',
  'SOURCE_PATH_NOT_FOUND',
  'SOURCE_FILE_CHANGED',
  'CONNECTION_IN_USE',
  // Customer-managed keys: a refusal by the key's owner is the caller's to fix, never a retryable outage.
  'KEK_ACCESS_DENIED',
  'KEK_DISABLED',
  'KEK_NOT_FOUND',
  // The org's customer-managed key: access revoked by its owner (fail closed), and no way back to system keys.
  'CMK_ACCESS_REVOKED',
  'CMK_IRREVERSIBLE',
  // A key only its owner can vouch for: tagged cipherflow-org = the org id, never in a vault we operate.
  'CMK_KEY_NOT_OWNED',
  'DECRYPTION_FAILED',
  // API payload encryption (HPKE, RFC 9180). Decryption failures are one opaque code.
  'HPKE_UNKNOWN_KEY',
  'HPKE_UNSUPPORTED_SUITE',
  'HPKE_DECRYPT_FAILED',
  'HPKE_REPLAY',
  'HPKE_TIMESTAMP_SKEW',
  'HPKE_NO_CLIENT_KEY',
  'HPKE_NOT_ACCEPTABLE',
  'HPKE_INVALID_PUBLIC_KEY',
  'HPKE_REQUIRED',
  'HPKE_FORMAT_UNSUPPORTED',
  'HPKE_CLIENT_KEY_REQUIRED',
  'INTERNAL_ERROR',
  'AUTH_UNAVAILABLE',
  'KEY_VAULT_UNAVAILABLE',
  'SERVER_BUSY',
  'STORAGE_UNAVAILABLE',
] as const;

/** A stable machine-readable error code; callers `switch (err.code)`. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One field-level problem of a request: `field` in dotted form and `pointer` as RFC 6901. */
export interface FieldError {
  /** Dotted path prefixed with where it came from: `body.params.passPhrase`, `headers.x-sandbox-name`. */
  readonly field: string;
  /** JSON Pointer into the request body (RFC 6901); absent for headers. */
  readonly pointer?: string;
  readonly message: string;
}

/** Options of every {@link AppError}: an internal cause, and when a passing failure is worth retrying. */
export interface AppErrorOptions {
  readonly cause?: unknown;
  /** The failure is passing (a busy or unreachable dependency): the same request may succeed after this many seconds. */
  readonly retryAfterSeconds?: number;
}

/** Seconds to wait before retrying after a dependency (issuer keys, Key Vault, storage) did not answer. */
const OUTAGE_RETRY_AFTER_SECONDS = 5;

/**
 * Base of every error the API reports on purpose. `detail` is shown to the caller, so it never
 * holds secrets, key material or internals; `cause` goes to internal logs only.
 */
export class AppError extends Error {
  override readonly name: string;
  readonly code: ErrorCode;
  readonly detail: string;
  /** Set when the failure is passing: seconds after which the same request may succeed. */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.detail = detail;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * The caller presented no usable bearer token (RFC 6750 §3). `tokenPresented` tells a missing
 * token from one presented but refused: only the latter is worth refreshing.
 */
export class AuthenticationError extends AppError {
  readonly tokenPresented: boolean;

  constructor(detail: string, options: { readonly tokenPresented: boolean; readonly cause?: unknown }) {
    super('UNAUTHENTICATED', detail, { cause: options.cause });
    this.tokenPresented = options.tokenPresented;
  }
}

/**
 * The `x-api-key` header is missing or does not name the token's client: a missing or bad
 * credential, while the token itself was fine (so nothing should send a client to refresh it).
 */
export class InvalidApiKeyError extends AppError {
  constructor(detail: string) {
    super('INVALID_API_KEY', detail);
  }
}

/** The token is valid but does not grant the organization named by `x-gw-ims-org-id`. */
export class ForbiddenOrgError extends AppError {
  constructor(detail = 'The access token does not grant access to this organization') {
    super('FORBIDDEN_ORG', detail);
  }
}

/** The token is confined to named sandboxes (`AUTH_SANDBOX_CLAIM`) and the call's sandbox is not one of them. */
export class ForbiddenSandboxError extends AppError {
  constructor(detail = 'The access token does not grant access to this sandbox') {
    super('FORBIDDEN_SANDBOX', detail);
  }
}

/**
 * The route manages a setting of the whole organization (its customer-managed key, its API
 * encryption client keys), which only a caller in the org's production sandbox may read or change.
 */
export class ProductionSandboxRequiredError extends AppError {
  constructor(productionSandbox: string) {
    super(
      'PRODUCTION_SANDBOX_REQUIRED',
      `Organization-wide settings are read and changed only from the production sandbox: send x-sandbox-name: ${productionSandbox}`,
    );
  }
}

/** The request is malformed; `errors` names each offending field. */
export class ValidationError extends AppError {
  readonly errors: readonly FieldError[];

  constructor(detail: string, errors: readonly FieldError[] = [], options: AppErrorOptions = {}) {
    super('INVALID_REQUEST', detail, options);
    this.errors = errors;
  }
}

/** The resource does not exist, or exists only for another org/sandbox (which must look the same). */
export class NotFoundError extends AppError {
  constructor(detail = 'The requested resource does not exist') {
    super('NOT_FOUND', detail);
  }
}

/** The route exists but not for this method; `allowedMethods` are the ones it has. */
export class MethodNotAllowedError extends AppError {
  readonly allowedMethods: readonly string[];

  constructor(allowed: readonly string[]) {
    super('METHOD_NOT_ALLOWED', `Allowed methods: ${allowed.join(', ')}`);
    this.allowedMethods = Object.freeze([...allowed]);
  }
}

/** The request conflicts with stored state (a name already taken, a stale version). */
export class ConflictError extends AppError {
  constructor(detail: string, options: AppErrorOptions = {}) {
    super('CONFLICT', detail, options);
  }
}

/** The request body passed the route's byte limit; reading stopped there. */
export class PayloadTooLargeError extends AppError {
  readonly limitBytes: number;

  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${limitBytes} bytes for this route`);
    this.limitBytes = limitBytes;
  }
}

/**
 * The request body took longer than `REQUEST_BODY_TIMEOUT_SECONDS` to arrive, or paused longer
 * than the idle limit: reading stopped there, so the rest of the body is still on the way and the
 * connection cannot carry another request (`closeConnection`, RFC 9110 §15.5.9).
 */
export class RequestTimeoutError extends AppError {
  readonly closeConnection = true;

  constructor(detail: string) {
    super('REQUEST_TIMEOUT', detail);
  }
}

/** The request body's `Content-Type` has no codec; `acceptedMediaTypes` are the ones that do. */
export class UnsupportedMediaTypeError extends AppError {
  readonly acceptedMediaTypes: readonly string[];

  constructor(accepted: readonly string[]) {
    super('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${accepted.join(' or ')}`);
    this.acceptedMediaTypes = Object.freeze([...accepted]);
  }
}

/** The organization exceeded its request rate (`API_RATE_LIMIT_PER_ORG`); it may retry after `retryAfterSeconds`. */
export class RateLimitedError extends AppError {
  declare readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', `Too many requests for this organization; retry after ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}

/**
 * Every private-key worker is busy and enough requests already wait for one (`PRIVATE_KEY_WAITING`):
 * answered at once rather than held, with when to retry.
 */
export class ServerBusyError extends AppError {
  declare readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, options: { readonly cause?: unknown } = {}) {
    super('SERVER_BUSY', `Every private-key worker is busy; retry after ${retryAfterSeconds} s`, { ...options, retryAfterSeconds });
  }
}

/** The token issuer's key set could not be fetched: a system failure, not the caller's. */
export class AuthUnavailableError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('AUTH_UNAVAILABLE', 'The access token could not be verified right now; retry later', {
      ...options,
      retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS,
    });
  }
}

/** The vault refused the operation on the key-encryption key (system key or CMK) (RBAC/access policy, or 401). */
export class KekAccessDeniedError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('KEK_ACCESS_DENIED', 'The key-encryption key in Key Vault does not allow cipherflow to use it; check the key vault access', options);
  }
}

/** The key-encryption key exists but is disabled (or outside its validity period). */
export class KekDisabledError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('KEK_DISABLED', 'The key-encryption key in Key Vault is disabled', options);
  }
}

/** The key-encryption key (or the version recorded for the data) no longer exists. */
export class KekNotFoundError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('KEK_NOT_FOUND', 'The key-encryption key (or the version that wraps this data) no longer exists', options);
  }
}

/**
 * Opaque decryption failure, like jose's `JWEDecryptionFailed`: a wrong key, a bad tag and a
 * malformed ciphertext all look the same to the caller so the answer is no oracle.
 */
export class DecryptionFailedError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('DECRYPTION_FAILED', 'The data could not be decrypted', options);
  }
}

/** Key Vault (or the credential to reach it) did not answer: retryable, not the caller's fault. */
export class KeyVaultUnavailableError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('KEY_VAULT_UNAVAILABLE', 'The key vault is temporarily unavailable; retry later', { ...options, retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS });
  }
}

/** Storage (Azure Storage, Azurite) did not answer; the request can be retried. */
export class StorageUnavailableError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('STORAGE_UNAVAILABLE', 'Storage is temporarily unavailable; retry later', { ...options, retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS });
  }
}


/** A customer's public key was refused at registration; `code` says why. */
export class PublicKeyRejectedError extends AppError {
  constructor(code: PublicKeyRejection, detail: string, options: AppErrorOptions = {}) {
    super(code, detail, options);
  }
}

/** An encryption key cannot be deleted while an active dataflow decrypts with it. */
export class KeyInUseError extends AppError {
  constructor(detail: string) {
    super('KEY_IN_USE', detail);
  }
}

/**
 * The org's customer-managed key refused us (role removed, key disabled or deleted): every data
 * operation of the org fails closed until access returns. Not retryable by the caller.
 */
export class CmkAccessRevokedError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('CMK_ACCESS_REVOKED', "The organization's customer-managed key does not allow access; restore cipherflow's access to the key", options);
  }
}

/** A request would take an org that uses a customer-managed key back to system-managed keys. */
export class CmkIrreversibleError extends AppError {
  constructor(detail = 'The organization uses a customer-managed key; it can move to another customer key but not back to system-managed keys') {
    super('CMK_IRREVERSIBLE', detail);
  }
}

/**
 * A customer-managed key was named that the org cannot show is its own: the key is in a vault
 * cipherflow operates, or its current version lacks the tag `cipherflow-org` naming the org. The
 * detail never echoes the tag found (on another customer's key it names that customer's org).
 */
export class CmkKeyNotOwnedError extends AppError {
  constructor(detail: string) {
    super('CMK_KEY_NOT_OWNED', detail);
  }
}

/** The header names a key id that is not (or no longer) one of our HPKE keys; `detail` lists the current ids. */
export class HpkeUnknownKeyError extends AppError {
  readonly keyIds: readonly number[];

  constructor(keyIds: readonly number[]) {
    super('HPKE_UNKNOWN_KEY', `Unknown HPKE key id; current key ids: ${keyIds.join(', ')}; fetch GET /api-encryption/keys`);
    this.keyIds = keyIds;
  }
}

/** The header names a KEM, KDF or AEAD outside the allowlist, or one the key does not use. */
export class HpkeUnsupportedSuiteError extends AppError {
  constructor(detail = 'Supported: KEM 0x0020, KDF 0x0001, AEAD 0x0002 or 0x0003') {
    super('HPKE_UNSUPPORTED_SUITE', detail);
  }
}

/**
 * Opaque, like jose's `JWEDecryptionFailed`: a malformed body, a wrong key, a bad tag or a moved
 * request (other method, path or timestamp) look the same; the `cause` goes to internal logs only.
 */
export class HpkeDecryptFailedError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('HPKE_DECRYPT_FAILED', 'The request body could not be decrypted', options);
  }
}

/** The request's `enc` was already seen within the timestamp window: a replay. */
export class HpkeReplayError extends AppError {
  constructor() {
    super('HPKE_REPLAY', 'This encrypted request was already received; encrypt each request afresh');
  }
}

/** `x-hpke-timestamp` is missing, malformed or more than the allowed skew away from server time. */
export class HpkeTimestampSkewError extends AppError {
  constructor(detail: string) {
    super('HPKE_TIMESTAMP_SKEW', detail);
  }
}

/** An encrypted response was asked for but the org has no usable client key (or not the one named). */
export class HpkeNoClientKeyError extends AppError {
  constructor(detail = 'Register a client key with PUT /api-encryption/client-keys/{keyId} before asking for encrypted responses') {
    super('HPKE_NO_CLIENT_KEY', detail);
  }
}

/** An encrypted response was asked for in a form this response cannot take (a stream asked for as one message). */
export class HpkeNotAcceptableError extends AppError {
  constructor() {
    super('HPKE_NOT_ACCEPTABLE', 'Streaming downloads are encrypted only as a stream: accept application/octet-stream+hpke-chunked');
  }
}

/** A client public key was refused: wrong length, non-canonical, low-order or off the curve. */
export class HpkeInvalidPublicKeyError extends AppError {
  constructor(detail: string) {
    super('HPKE_INVALID_PUBLIC_KEY', detail);
  }
}

/**
 * The org's `requireEncryption` setting refuses a plaintext request body, or a request that does
 * not ask for an encrypted answer; or an encrypted request that names a client key did not ask for
 * an encrypted answer (its Accept was stripped on the way).
 */
export class HpkeRequiredError extends AppError {
  constructor(detail = 'This organization accepts request bodies only as application/octet-stream+hpke') {
    super('HPKE_REQUIRED', detail);
  }
}

/**
 * A request sent or asked for HPKE without `x-hpke-format: 2`: a client still on the format
 * before org, sandbox and client key id were bound (or a newer one). Told apart from
 * HPKE_DECRYPT_FAILED so the client knows to update.
 */
export class HpkeFormatUnsupportedError extends AppError {
  constructor(sent: string | null) {
    super('HPKE_FORMAT_UNSUPPORTED', `${sent === null ? 'x-hpke-format is missing' : 'x-hpke-format is not 2'}: this API speaks HPKE wire format 2 (org, sandbox and client key id bound); update the client`);
  }
}

/**
 * `requireEncryption` cannot be turned on without a client key to seal answers to, and the last
 * client key cannot be deleted while it is on: either would leave no answer the org could read.
 */
export class HpkeClientKeyRequiredError extends AppError {
  constructor(detail: string) {
    super('HPKE_CLIENT_KEY_REQUIRED', detail);
  }
}

/** The codes of a failed call to a customer's storage (explore, a scheduled listing, a transfer). */
export type SourceErrorCode = Extract<
  ErrorCode,
  'ADDRESS_NOT_ALLOWED' | 'SOURCE_UNREACHABLE' | 'SOURCE_AUTH_FAILED' | 'SOURCE_HOST_KEY_MISMATCH' | 'SOURCE_PATH_NOT_FOUND' | 'SOURCE_FILE_CHANGED'
>;

/**
 * A customer's storage refused or failed a call: unreachable, a refused credential, a changed SSH
 * host key, a missing path, a file that changed while it was read, or an address the app may not
 * connect to (SSRF). `detail` never quotes a credential; `cause` goes to internal logs only.
 */
export class SourceError extends AppError {
  declare readonly code: SourceErrorCode;

  constructor(code: SourceErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(code, detail, options);
  }
}

/** A base connection is used by a dataflow that is not deleted, so it cannot be deleted. */
export class ConnectionInUseError extends AppError {
  constructor(detail: string) {
    super('CONNECTION_IN_USE', detail);
  }
}
