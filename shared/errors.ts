/**
 * Every failure the API reports, as a stable machine code with exactly one HTTP mapping.
 *
 * To add a code (like KEY_VAULT_UNAVAILABLE or KEK_ACCESS_DENIED), add one
 * row to {@link ERROR_TABLE}: the {@link ErrorCode} union, the problem `type` URI and
 * {@link toProblem} follow from it. There is deliberately no fallback row: an unknown code does
 * not compile.
 */
export const ERROR_TABLE = {
  INVALID_REQUEST: { status: 400, title: 'The request is invalid' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  INVALID_API_KEY: { status: 401, title: 'The API key is invalid' },
  FORBIDDEN_ORG: { status: 403, title: 'The organization is not granted to this token' },
  FORBIDDEN_SANDBOX: { status: 403, title: 'The sandbox is not granted to this token' },
  PRODUCTION_SANDBOX_REQUIRED: { status: 403, title: "Organization-wide settings are managed from the organization's production sandbox" },
  NOT_FOUND: { status: 404, title: 'The resource was not found' },
  SANDBOX_NOT_FOUND: { status: 404, title: 'The sandbox does not exist' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'The method is not allowed on this resource' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request body did not arrive in time' },
  CONFLICT: { status: 409, title: 'The request conflicts with the current state' },
  SANDBOX_NOT_EMPTY: { status: 409, title: 'The sandbox still holds data' },
  SANDBOX_NOT_DELETABLE: { status: 409, title: 'Production sandboxes cannot be deleted' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request content type is not supported' },
  RATE_LIMITED: { status: 429, title: 'Too many requests for this organization' },
  // PGP keys a caller registers (customer signature-verification keys).
  INVALID_PUBLIC_KEY: { status: 400, title: 'The public key is not a valid OpenPGP public key' },
  PRIVATE_KEY_NOT_ALLOWED: { status: 400, title: 'A private key was given where a public key is expected' },
  KEY_EXPIRED: { status: 400, title: 'The key has expired' },
  KEY_REVOKED: { status: 400, title: 'The key has been revoked' },
  NO_SIGNING_KEY: { status: 400, title: 'The key cannot make signatures' },
  KEY_TOO_WEAK: { status: 400, title: 'The key algorithm or size is not accepted' },
  UNSUPPORTED_PGP_FEATURE: { status: 400, title: 'The key uses an unsupported OpenPGP feature' },
  KEY_IN_USE: { status: 409, title: 'The key is used by an active dataflow' },
  // Customer-managed keys: a refusal by the key's owner is the caller's to fix, never a retryable outage.
  KEK_ACCESS_DENIED: { status: 403, title: 'The key-encryption key does not grant access' },
  KEK_DISABLED: { status: 403, title: 'The key-encryption key is disabled' },
  KEK_NOT_FOUND: { status: 422, title: 'The key-encryption key does not exist' },
  // The org's customer-managed key: access revoked by its owner (fail closed), and no way back to system keys.
  CMK_ACCESS_REVOKED: { status: 403, title: "The organization's customer-managed key is not accessible" },
  CMK_IRREVERSIBLE: { status: 409, title: 'Customer-managed keys cannot be turned off for an organization' },
  // A key only its owner can vouch for: tagged cipherflow-org = the org id, never in a vault we operate.
  CMK_KEY_NOT_OWNED: { status: 403, title: 'The key does not prove that it belongs to this organization' },
  DECRYPTION_FAILED: { status: 422, title: 'The data could not be decrypted' },
  // API payload encryption (HPKE, RFC 9180). Decryption failures are one opaque code.
  HPKE_UNKNOWN_KEY: { status: 422, title: 'The HPKE key id is not one of the current server keys' },
  HPKE_UNSUPPORTED_SUITE: { status: 400, title: 'The HPKE cipher suite is not supported' },
  HPKE_DECRYPT_FAILED: { status: 400, title: 'The encrypted request could not be decrypted' },
  HPKE_REPLAY: { status: 400, title: 'The encrypted request was already received' },
  HPKE_TIMESTAMP_SKEW: { status: 400, title: 'The x-hpke-timestamp header is missing or too far from the server time' },
  HPKE_NO_CLIENT_KEY: { status: 406, title: 'No client key to encrypt the response to' },
  HPKE_NOT_ACCEPTABLE: { status: 406, title: 'This response cannot be encrypted' },
  HPKE_INVALID_PUBLIC_KEY: { status: 400, title: 'The HPKE public key is not valid' },
  HPKE_REQUIRED: { status: 400, title: 'This organization requires encrypted requests and answers' },
  HPKE_FORMAT_UNSUPPORTED: { status: 400, title: 'The HPKE wire format is missing or not supported' },
  HPKE_CLIENT_KEY_REQUIRED: { status: 409, title: 'Required encryption needs a registered client key' },
  INTERNAL_ERROR: { status: 500, title: 'An internal error occurred' },
  AUTH_UNAVAILABLE: { status: 503, title: 'Token verification is temporarily unavailable' },
  KEY_VAULT_UNAVAILABLE: { status: 503, title: 'The key vault is temporarily unavailable' },
  SERVER_BUSY: { status: 503, title: 'The server is busy with private-key work; retry later' },
  STORAGE_UNAVAILABLE: { status: 503, title: 'Storage is temporarily unavailable' },
} as const satisfies Record<string, { readonly status: number; readonly title: string }>;

/** A stable machine-readable error code; callers `switch (err.code)`. */
export type ErrorCode = keyof typeof ERROR_TABLE;

const PROBLEM_TYPE_BASE = 'https://cipherflow.dev/problems/';

/** The RFC 9457 `type` URI of a code: `INVALID_API_KEY` → `https://cipherflow.dev/problems/invalid-api-key`. */
export function problemType(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code.toLowerCase().replaceAll('_', '-');
}

/** One field-level problem of a request: `field` in dotted form and `pointer` as RFC 6901. */
export interface FieldError {
  /** Dotted path prefixed with where it came from: `body.params.passPhrase`, `headers.x-sandbox-name`. */
  readonly field: string;
  /** JSON Pointer into the request body (RFC 6901); absent for headers. */
  readonly pointer?: string;
  readonly message: string;
}

/** Options of every {@link AppError}: an internal cause and the response headers the error implies. */
export interface AppErrorOptions {
  readonly cause?: unknown;
  /** Response headers the error implies (`WWW-Authenticate`, `Allow`, ...). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Base of every error the API reports on purpose. `detail` is shown to the caller, so it never
 * holds secrets, key material or internals; `cause` goes to internal logs only.
 */
export class AppError extends Error {
  override readonly name: string;
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.title = ERROR_TABLE[code].title;
    this.detail = detail;
    this.headers = options.headers ?? {};
  }
}

/**
 * The caller presented no usable bearer token (RFC 6750 §3): 401 with `WWW-Authenticate: Bearer`,
 * plus `error="invalid_token"` when a token was presented but refused.
 */
export class AuthenticationError extends AppError {
  readonly tokenPresented: boolean;

  constructor(detail: string, options: { readonly tokenPresented: boolean; readonly cause?: unknown }) {
    const challenge = options.tokenPresented
      ? `Bearer error="invalid_token", error_description="${detail.replaceAll('"', "'")}"`
      : 'Bearer';
    super('UNAUTHENTICATED', detail, { cause: options.cause, headers: { 'www-authenticate': challenge } });
    this.tokenPresented = options.tokenPresented;
  }
}

/**
 * The `x-api-key` header is missing or does not name the token's client: a missing or bad
 * credential, so 401 with a bare `WWW-Authenticate: Bearer` challenge (the token itself was fine,
 * so no `error="invalid_token"` that would send a client to refresh it).
 */
export class InvalidApiKeyError extends AppError {
  constructor(detail: string) {
    super('INVALID_API_KEY', detail, { headers: { 'www-authenticate': 'Bearer' } });
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

/** The route exists but not for this method; sets `Allow` as RFC 9110 §15.5.6 requires. */
export class MethodNotAllowedError extends AppError {
  constructor(allowed: readonly string[]) {
    super('METHOD_NOT_ALLOWED', `Allowed methods: ${allowed.join(', ')}`, { headers: { allow: allowed.join(', ') } });
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
 * than the idle limit: reading stopped there, and the connection is not reused (RFC 9110 §15.5.9).
 */
export class RequestTimeoutError extends AppError {
  constructor(detail: string) {
    super('REQUEST_TIMEOUT', detail, { headers: { connection: 'close' } });
  }
}

/** The request body's `Content-Type` has no codec; `Accept-Post` lists the ones that do. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(accepted: readonly string[]) {
    super('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${accepted.join(' or ')}`, {
      headers: { 'accept-post': accepted.join(', ') },
    });
  }
}

/** The organization exceeded its request rate (`API_RATE_LIMIT_PER_ORG`): 429 with `Retry-After`. */
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', `Too many requests for this organization; retry after ${retryAfterSeconds} s`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  }
}

/**
 * Every private-key worker is busy and enough requests already wait for one (`PRIVATE_KEY_WAITING`):
 * answered at once rather than held, with `Retry-After`.
 */
export class ServerBusyError extends AppError {
  constructor(retryAfterSeconds: number, options: { readonly cause?: unknown } = {}) {
    super('SERVER_BUSY', `Every private-key worker is busy; retry after ${retryAfterSeconds} s`, {
      ...options,
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  }
}

/** The token issuer's key set could not be fetched: a system failure, not the caller's. */
export class AuthUnavailableError extends AppError {
  constructor(options: { readonly cause?: unknown } = {}) {
    super('AUTH_UNAVAILABLE', 'The access token could not be verified right now; retry later', {
      ...options,
      headers: { 'retry-after': '5' },
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
    super('KEY_VAULT_UNAVAILABLE', 'The key vault is temporarily unavailable; retry later', { ...options, headers: { 'retry-after': '5' } });
  }
}

/** An RFC 9457 problem document, with our `code` and `requestId` extension members. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly requestId: string;
  readonly errors?: readonly FieldError[];
}

/** A problem ready for the edge: status, headers (with the problem content type) and document. */
export interface Problem {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ProblemDocument;
}

/** RFC 9457 §3 media type of every error response. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const INTERNAL_DETAIL = 'The server could not complete the request; quote the requestId when reporting it';

/**
 * Whether an Azure SDK error says the storage service is down or unreachable (no answer, a
 * timeout, 5xx) rather than refusing this request: worth retrying later, not a bug.
 */
export function isStorageOutage(err: unknown): boolean {
  if (!(err instanceof Error) || err.name !== 'RestError') return false;
  const status = (err as { statusCode?: unknown }).statusCode;
  return status === undefined || status === 408 || (typeof status === 'number' && status >= 500);
}

/** Storage (Azure Storage, Azurite) did not answer; the request can be retried. */
export class StorageUnavailableError extends AppError {
  constructor(options: AppErrorOptions = {}) {
    super('STORAGE_UNAVAILABLE', 'Storage is temporarily unavailable; retry later', { ...options, headers: { 'retry-after': '5' } });
  }
}

/**
 * Maps any thrown value to an RFC 9457 problem. An {@link AppError} keeps its code, detail and
 * headers; a storage outage becomes 503 `STORAGE_UNAVAILABLE` with `Retry-After`; anything else
 * becomes a 500 `INTERNAL_ERROR` with a fixed detail, so no message, stack or data of an
 * unexpected failure reaches the caller.
 */
export function toProblem(err: unknown, requestId: string): Problem {
  const known = err instanceof AppError ? err : isStorageOutage(err) ? new StorageUnavailableError({ cause: err }) : undefined;
  const code: ErrorCode = known?.code ?? 'INTERNAL_ERROR';
  const { status, title } = ERROR_TABLE[code];
  const body: ProblemDocument = {
    type: problemType(code),
    title,
    status,
    detail: known?.detail ?? INTERNAL_DETAIL,
    code,
    requestId,
    ...(known instanceof ValidationError && known.errors.length > 0 ? { errors: known.errors } : {}),
  };
  return { status, headers: { ...known?.headers, 'content-type': PROBLEM_CONTENT_TYPE }, body };
}

/** Codes of a customer public key that cannot be registered. */
export type PublicKeyRejection =
  | 'INVALID_PUBLIC_KEY'
  | 'PRIVATE_KEY_NOT_ALLOWED'
  | 'KEY_EXPIRED'
  | 'KEY_REVOKED'
  | 'NO_SIGNING_KEY'
  | 'KEY_TOO_WEAK'
  | 'UNSUPPORTED_PGP_FEATURE';

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
