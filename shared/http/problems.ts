/**
 * How HTTP answers a failure: the one code-to-status table and RFC 9457 problem+json.
 *
 * The domain throws {@link AppError}s that carry a code and typed facts; this module alone turns
 * them into a status, a title, a `type` URI and headers. To add a code, add it to `ERROR_CODES`
 * in `shared/errors.ts` and a row to {@link PROBLEM_TABLE}: a code without a row does not compile,
 * and there is deliberately no fallback row.
 */
import {
  AppError,
  AuthenticationError,
  MethodNotAllowedError,
  RequestTimeoutError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
  type ErrorCode,
  type FieldError,
} from '../errors.js';
import { isStorageOutage } from '../core/azure-errors.js';

/** The HTTP answer of one {@link ErrorCode}: its status and fixed problem title. */
export interface ProblemRow {
  readonly status: number;
  readonly title: string;
}

/** Every {@link ErrorCode}'s status and title, the one place a code meets HTTP. */
export const PROBLEM_TABLE = {
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
  INVALID_PUBLIC_KEY: { status: 400, title: 'The public key is not a valid OpenPGP public key' },
  PRIVATE_KEY_NOT_ALLOWED: { status: 400, title: 'A private key was given where a public key is expected' },
  KEY_EXPIRED: { status: 400, title: 'The key has expired' },
  KEY_REVOKED: { status: 400, title: 'The key has been revoked' },
  NO_SIGNING_KEY: { status: 400, title: 'The key cannot make signatures' },
  KEY_TOO_WEAK: { status: 400, title: 'The key algorithm or size is not accepted' },
  UNSUPPORTED_PGP_FEATURE: { status: 400, title: 'The key uses an unsupported OpenPGP feature' },
  KEY_IN_USE: { status: 409, title: 'The key is used by an active dataflow' },
  ADDRESS_NOT_ALLOWED: { status: 422, title: 'The destination address is not allowed' },
  SOURCE_UNREACHABLE: { status: 502, title: 'The source could not be reached' },
  SOURCE_AUTH_FAILED: { status: 422, title: 'The source refused the credential' },
  SOURCE_HOST_KEY_MISMATCH: { status: 422, title: "The SFTP server's host key does not match the pinned one" },
  SOURCE_PATH_NOT_FOUND: { status: 404, title: 'The path does not exist in the source' },
  SOURCE_FILE_CHANGED: { status: 409, title: 'The file changed while it was read' },
  CONNECTION_IN_USE: { status: 409, title: 'The connection is used by a dataflow' },
  // A refusal by the key's owner is the caller's to fix (403/422), never a retryable outage (503).
  KEK_ACCESS_DENIED: { status: 403, title: 'The key-encryption key does not grant access' },
  KEK_DISABLED: { status: 403, title: 'The key-encryption key is disabled' },
  KEK_NOT_FOUND: { status: 422, title: 'The key-encryption key does not exist' },
  CMK_ACCESS_REVOKED: { status: 403, title: "The organization's customer-managed key is not accessible" },
  CMK_IRREVERSIBLE: { status: 409, title: 'Customer-managed keys cannot be turned off for an organization' },
  CMK_KEY_NOT_OWNED: { status: 403, title: 'The key does not prove that it belongs to this organization' },
  DECRYPTION_FAILED: { status: 422, title: 'The data could not be decrypted' },
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
} as const satisfies Record<ErrorCode, ProblemRow>;

/** The HTTP status of a code. */
export function statusOf(code: ErrorCode): number {
  return PROBLEM_TABLE[code].status;
}

const PROBLEM_TYPE_BASE = 'https://cipherflow.dev/problems/';

/** The RFC 9457 `type` URI of a code: `INVALID_API_KEY` → `https://cipherflow.dev/problems/invalid-api-key`. */
export function problemType(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code.toLowerCase().replaceAll('_', '-');
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
 * Maps any thrown value to an RFC 9457 problem. An {@link AppError} keeps its code and detail, and
 * its facts become headers; a storage outage becomes 503 `STORAGE_UNAVAILABLE` with `Retry-After`;
 * anything else becomes a 500 `INTERNAL_ERROR` with a fixed detail, so no message, stack or data
 * of an unexpected failure reaches the caller.
 */
export function toProblem(err: unknown, requestId: string): Problem {
  const known = err instanceof AppError ? err : isStorageOutage(err) ? new StorageUnavailableError({ cause: err }) : undefined;
  const code: ErrorCode = known?.code ?? 'INTERNAL_ERROR';
  const { status, title } = PROBLEM_TABLE[code];
  const body: ProblemDocument = {
    type: problemType(code),
    title,
    status,
    detail: known?.detail ?? INTERNAL_DETAIL,
    code,
    requestId,
    ...(known instanceof ValidationError && known.errors.length > 0 ? { errors: known.errors } : {}),
  };
  return { status, headers: { ...(known === undefined ? {} : headersOf(known)), 'content-type': PROBLEM_CONTENT_TYPE }, body };
}

/** The response headers an error's facts call for. */
function headersOf(err: AppError): Record<string, string> {
  const headers: Record<string, string> = {};
  // RFC 9110 §15.5.2: every 401 carries a challenge.
  if (statusOf(err.code) === 401) headers['www-authenticate'] = challengeOf(err);
  if (err instanceof MethodNotAllowedError) headers.allow = err.allowedMethods.join(', ');
  if (err instanceof UnsupportedMediaTypeError) headers['accept-post'] = err.acceptedMediaTypes.join(', ');
  if (err instanceof RequestTimeoutError && err.closeConnection) headers.connection = 'close';
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  return headers;
}

/**
 * The `WWW-Authenticate` challenge (RFC 6750 §3): `error="invalid_token"` only for a token that was
 * presented and refused, so a client does not refresh a token that was fine (a bad `x-api-key`).
 */
function challengeOf(err: AppError): string {
  if (!(err instanceof AuthenticationError) || !err.tokenPresented) return 'Bearer';
  // A quoted-string cannot hold a bare `"`.
  return `Bearer error="invalid_token", error_description="${err.detail.replaceAll('"', "'")}"`;
}
