import { isRestError, statusCodeOf } from '../../core/azure-errors.js';
import { SourceError } from '../../errors.js';
import type { AzureBlobCredential } from '../azure-blob-credential.js';

const REDACTED = '[REDACTED]';

/** What a failure message may name: which storage (account, container), never the credential. */
export interface FailureContext {
  /** e.g. `Azure Blob account acct, container c`. */
  readonly where: string;
  /** The strings that must never appear in an error (see {@link secretsOf}). */
  readonly secrets: readonly string[];
  /** How long a request may go unanswered, for the timeout message. */
  readonly timeoutMs: number;
}

/**
 * The secret strings of a credential, as they may appear in a message: the whole SAS query, its
 * signature raw, decoded and encoded; the account key raw and encoded.
 */
export function secretsOf(credential: AzureBlobCredential): readonly string[] {
  if (credential.kind === 'sharedKey') return [credential.accountKey, encodeURIComponent(credential.accountKey)];
  const raw = /(?:^|&)sig=([^&]*)/.exec(credential.query)?.[1];
  const decoded = new URLSearchParams(credential.query).get('sig') ?? '';
  return [credential.query, raw ?? '', decoded, encodeURIComponent(decoded)].filter((s) => s.length >= 4);
}

/**
 * An Azure SDK failure (or a transport one) as the reader reports it. `detail` names the storage
 * and the service's error code, never the credential; `cause` is a copy of the failure whose
 * message has every secret (and anything shaped like `sig=`, `AccountKey=`) blanked, without the
 * SDK's request object.
 *
 * 401/403 → SOURCE_AUTH_FAILED, 404 → SOURCE_PATH_NOT_FOUND, 412 → SOURCE_FILE_CHANGED; no answer,
 * a timeout, 408, 429 and 5xx → SOURCE_UNREACHABLE; other 4xx → SOURCE_AUTH_FAILED (the request
 * is built by the app, so what the service refuses is the credential's SAS parameters).
 */
export function toSourceError(err: unknown, context: FailureContext): SourceError {
  if (err instanceof SourceError) return err;
  const options = { cause: redactedCopy(err, context.secrets) };
  const { where } = context;
  const status = statusCodeOf(err);
  const code = serviceCode(err, context.secrets);
  const answered = `${status ?? ''}${code === undefined ? '' : ` ${code}`}`;
  // The outbound guard's lookup refused the address a name resolved to, while connecting.
  if (codeOf(err) === 'ADDRESS_NOT_ALLOWED')
    return new SourceError('ADDRESS_NOT_ALLOWED', `The address of ${where} is not allowed`, options);
  if (err instanceof Error && err.name === 'AbortError')
    return new SourceError(
      'SOURCE_UNREACHABLE',
      `${where} did not answer within ${Math.round(context.timeoutMs / 1000)} s`,
      options,
    );
  if (status === undefined) {
    return isTransportFailure(err)
      ? new SourceError('SOURCE_UNREACHABLE', `${where} could not be reached`, options)
      : new SourceError('SOURCE_UNREACHABLE', `${where} did not answer as Azure Blob storage does`, options);
  }
  if (status === 412)
    return new SourceError('SOURCE_FILE_CHANGED', `The blob changed since it was listed (${where})`, options);
  if (status === 404)
    return new SourceError(
      'SOURCE_PATH_NOT_FOUND',
      code === 'ContainerNotFound' ? `The container does not exist (${where})` : `The path does not exist (${where})`,
      options,
    );
  if (status === 401 || status === 403)
    return new SourceError('SOURCE_AUTH_FAILED', `${where} refused the credential (${answered})`, options);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429)
    return new SourceError(
      'SOURCE_AUTH_FAILED',
      `${where} refused the request (${answered}): check the credential`,
      options,
    );
  if (status >= 300 && status < 400)
    return new SourceError(
      'SOURCE_UNREACHABLE',
      `${where} answered with a redirect (${status}), which is not followed`,
      options,
    );
  return new SourceError('SOURCE_UNREACHABLE', `${where} is unavailable (${answered})`, options);
}

/**
 * `text` with every secret blanked, and anything shaped like one: `sig=`, `AccountKey=` and
 * `SharedAccessSignature=` values, a `SharedKey account:signature` header, and any run of 40 or
 * more Base64 characters (an account key is 88, an HMAC-SHA256 signature 44; request ids, ETags
 * and times are shorter or hyphenated). The service's own messages can quote a signature
 * ("The MAC signature found in the HTTP request '...'"), and a hostile endpoint can quote anything.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out
    .replace(/\b(sig|AccountKey|SharedAccessSignature)=[^&;\s"'<>]*/gi, `$1=${REDACTED}`)
    .replace(/\bSharedKey(Lite)? [^\s:]+:\S+/g, `SharedKey$1 ${REDACTED}`)
    .replace(/(?:[A-Za-z0-9+/]|%2[bB]|%2[fF]){40,}(?:=|%3[dD]){0,2}/g, REDACTED);
}

/** The error code the service answered (`x-ms-error-code`), when it is a plain identifier and no secret. */
function serviceCode(err: unknown, secrets: readonly string[]): string | undefined {
  if (!isRestError(err)) return undefined;
  const code = err.code;
  return code !== undefined && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(code) && redact(code, secrets) === code
    ? code
    : undefined;
}

/** No answer: a refused or reset connection, an unknown name, a socket closed mid-answer. */
function isTransportFailure(err: unknown): boolean {
  const code = codeOf(err) ?? '';
  if (isRestError(err)) return code !== 'PARSE_ERROR';
  return /^E[A-Z]+$/.test(code) || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

/** A failure as a cause may carry it to internal logs: name, code, status and a redacted message. */
class RedactedFailure extends Error {
  readonly code?: string;
  readonly statusCode?: number;

  constructor(name: string, message: string, code: string | undefined, statusCode: number | undefined) {
    super(message);
    this.name = name;
    if (code !== undefined) this.code = code;
    if (statusCode !== undefined) this.statusCode = statusCode;
  }
}

function redactedCopy(err: unknown, secrets: readonly string[]): RedactedFailure {
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : 'non-Error value thrown';
  const code = codeOf(err);
  return new RedactedFailure(
    name,
    redact(message, secrets),
    code === undefined ? undefined : redact(code, secrets),
    statusCodeOf(err),
  );
}
