import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  AppError,
  AuthenticationError,
  AuthUnavailableError,
  ConflictError,
  ERROR_CODES,
  InvalidApiKeyError,
  KekAccessDeniedError,
  KeyVaultUnavailableError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  RequestTimeoutError,
  ServerBusyError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
  type ErrorCode,
} from '../../shared/errors.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TABLE, problemType, statusOf, toProblem } from '../../shared/http/problems.js';
import { LockBusyError } from '../../shared/storage/table-lock.js';

/** The status of every code as the API answered it before codes left HTTP to this table. */
const STATUS_OF: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  UNAUTHENTICATED: 401,
  INVALID_API_KEY: 401,
  FORBIDDEN_ORG: 403,
  FORBIDDEN_SANDBOX: 403,
  PRODUCTION_SANDBOX_REQUIRED: 403,
  NOT_FOUND: 404,
  SANDBOX_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  SANDBOX_NOT_EMPTY: 409,
  SANDBOX_NOT_DELETABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INVALID_PUBLIC_KEY: 400,
  PRIVATE_KEY_NOT_ALLOWED: 400,
  KEY_EXPIRED: 400,
  KEY_REVOKED: 400,
  NO_SIGNING_KEY: 400,
  KEY_TOO_WEAK: 400,
  UNSUPPORTED_PGP_FEATURE: 400,
  KEY_IN_USE: 409,
  ADDRESS_NOT_ALLOWED: 422,
  SOURCE_UNREACHABLE: 502,
  SOURCE_AUTH_FAILED: 422,
  SOURCE_HOST_KEY_MISMATCH: 422,
  SOURCE_PATH_NOT_FOUND: 404,
  SOURCE_FILE_CHANGED: 409,
  CONNECTION_IN_USE: 409,
  KEK_ACCESS_DENIED: 403,
  KEK_DISABLED: 403,
  KEK_NOT_FOUND: 422,
  CMK_ACCESS_REVOKED: 403,
  CMK_IRREVERSIBLE: 409,
  CMK_KEY_NOT_OWNED: 403,
  DECRYPTION_FAILED: 422,
  HPKE_UNKNOWN_KEY: 422,
  HPKE_UNSUPPORTED_SUITE: 400,
  HPKE_DECRYPT_FAILED: 400,
  HPKE_REPLAY: 400,
  HPKE_TIMESTAMP_SKEW: 400,
  HPKE_NO_CLIENT_KEY: 406,
  HPKE_NOT_ACCEPTABLE: 406,
  HPKE_INVALID_PUBLIC_KEY: 400,
  HPKE_REQUIRED: 400,
  HPKE_FORMAT_UNSUPPORTED: 400,
  HPKE_CLIENT_KEY_REQUIRED: 409,
  INTERNAL_ERROR: 500,
  AUTH_UNAVAILABLE: 503,
  KEY_VAULT_UNAVAILABLE: 503,
  SERVER_BUSY: 503,
  STORAGE_UNAVAILABLE: 503,
};

const CONTENT_TYPE = { 'content-type': 'application/problem+json' };

describe('the code-to-status table', () => {
  it('has one row per error code, in the order of ERROR_CODES, and no other', () => {
    expectTypeOf<keyof typeof PROBLEM_TABLE>().toEqualTypeOf<ErrorCode>();
    expect(Object.keys(PROBLEM_TABLE)).toEqual([...ERROR_CODES]);
  });

  it('gives every code an error status (400-599) and a title', () => {
    for (const code of ERROR_CODES) {
      expect(Number.isInteger(statusOf(code))).toBe(true);
      expect(statusOf(code)).toBeGreaterThanOrEqual(400);
      expect(statusOf(code)).toBeLessThanOrEqual(599);
      expect(PROBLEM_TABLE[code].title).not.toBe('');
    }
  });

  it('keeps the status every code was answered with', () => {
    expect(Object.fromEntries(ERROR_CODES.map((code) => [code, statusOf(code)]))).toEqual(STATUS_OF);
  });
});

describe('toProblem', () => {
  it('gives every code its own status, title and kebab-case type URI', () => {
    for (const code of ERROR_CODES) {
      const p = toProblem(new AppError(code, 'd'), 'rid');
      expect(p.status).toBe(PROBLEM_TABLE[code].status);
      expect(p.body).toEqual({ type: problemType(code), title: PROBLEM_TABLE[code].title, status: p.status, detail: 'd', code, requestId: 'rid' });
      expect(p.body.type).toMatch(/^https:\/\/cipherflow\.dev\/problems\/[a-z]+(-[a-z]+)*$/);
      expect(p.headers['content-type']).toBe(PROBLEM_CONTENT_TYPE);
    }
  });

  it('answers an unauthenticated call with a bare Bearer challenge', () => {
    const p = toProblem(new AuthenticationError('A bearer access token is required', { tokenPresented: false }), 'rid');
    expect(p.status).toBe(401);
    expect(p.headers).toEqual({ 'www-authenticate': 'Bearer', ...CONTENT_TYPE });
  });

  it('answers a refused token with error="invalid_token" and its detail, double quotes made single', () => {
    const p = toProblem(new AuthenticationError('The token says "no"', { tokenPresented: true }), 'rid');
    expect(p.headers).toEqual({ 'www-authenticate': `Bearer error="invalid_token", error_description="The token says 'no'"`, ...CONTENT_TYPE });
    expect(p.body.detail).toBe('The token says "no"');
  });

  it('answers a bad x-api-key with a bare Bearer challenge, not invalid_token', () => {
    const p = toProblem(new InvalidApiKeyError('The x-api-key header is required'), 'rid');
    expect(p).toMatchObject({ status: 401, body: { code: 'INVALID_API_KEY' } });
    expect(p.headers).toEqual({ 'www-authenticate': 'Bearer', ...CONTENT_TYPE });
  });

  it('lists the allowed methods in Allow for METHOD_NOT_ALLOWED', () => {
    const p = toProblem(new MethodNotAllowedError(['GET', 'PUT']), 'rid');
    expect(p).toMatchObject({ status: 405, body: { detail: 'Allowed methods: GET, PUT' } });
    expect(p.headers).toEqual({ allow: 'GET, PUT', ...CONTENT_TYPE });
  });

  it('closes the connection after REQUEST_TIMEOUT', () => {
    const p = toProblem(new RequestTimeoutError('The request body stopped arriving for 10 s'), 'rid');
    expect(p.status).toBe(408);
    expect(p.headers).toEqual({ connection: 'close', ...CONTENT_TYPE });
  });

  it('lists the accepted media types in Accept-Post for UNSUPPORTED_MEDIA_TYPE', () => {
    const p = toProblem(new UnsupportedMediaTypeError(['application/json', 'application/octet-stream+hpke']), 'rid');
    expect(p).toMatchObject({ status: 415, body: { detail: 'Content-Type must be application/json or application/octet-stream+hpke' } });
    expect(p.headers).toEqual({ 'accept-post': 'application/json, application/octet-stream+hpke', ...CONTENT_TYPE });
  });

  it.each([
    ['RateLimitedError', new RateLimitedError(3), 429, '3'],
    ['ServerBusyError', new ServerBusyError(5), 503, '5'],
    ['AuthUnavailableError', new AuthUnavailableError(), 503, '5'],
    ['KeyVaultUnavailableError', new KeyVaultUnavailableError(), 503, '5'],
    ['StorageUnavailableError', new StorageUnavailableError(), 503, '5'],
    ['LockBusyError', new LockBusyError(), 503, '2'],
  ] as const)('sends Retry-After for %s', (_name, err, status, retryAfter) => {
    const p = toProblem(err, 'rid');
    expect(p.status).toBe(status);
    expect(p.headers).toEqual({ 'retry-after': retryAfter, ...CONTENT_TYPE });
  });

  it('answers a storage outage (an Azure RestError without an answer) as 503 STORAGE_UNAVAILABLE with Retry-After', () => {
    const p = toProblem(Object.assign(new Error('connect ECONNREFUSED'), { name: 'RestError' }), 'rid');
    expect(p).toMatchObject({ status: 503, body: { code: 'STORAGE_UNAVAILABLE', detail: 'Storage is temporarily unavailable; retry later' } });
    expect(p.headers).toEqual({ 'retry-after': '5', ...CONTENT_TYPE });
  });

  it('adds no header for an error without facts', () => {
    for (const err of [new NotFoundError(), new ConflictError('taken'), new PayloadTooLargeError(10), new KekAccessDeniedError(), new ValidationError('bad')]) {
      expect(toProblem(err, 'rid').headers).toEqual(CONTENT_TYPE);
    }
  });

  it('lists field errors of INVALID_REQUEST, and leaves out an empty list', () => {
    const errors = [{ field: 'body.name', pointer: '/name', message: 'Required' }];
    expect(toProblem(new ValidationError('bad', errors), 'rid').body).toEqual({
      type: 'https://cipherflow.dev/problems/invalid-request',
      title: 'The request is invalid',
      status: 400,
      detail: 'bad',
      code: 'INVALID_REQUEST',
      requestId: 'rid',
      errors,
    });
    expect(toProblem(new ValidationError('bad'), 'rid').body).not.toHaveProperty('errors');
  });

  it('maps a non-Error throw or an unexpected error to INTERNAL_ERROR with a fixed detail and no extra header', () => {
    for (const thrown of ['boom', new Error('db password=hunter2')]) {
      const p = toProblem(thrown, 'rid');
      expect(p.status).toBe(500);
      expect(p.headers).toEqual(CONTENT_TYPE);
      expect(p.body).toEqual({
        type: 'https://cipherflow.dev/problems/internal-error',
        title: 'An internal error occurred',
        status: 500,
        detail: 'The server could not complete the request; quote the requestId when reporting it',
        code: 'INTERNAL_ERROR',
        requestId: 'rid',
      });
    }
  });
});

describe('domain errors', () => {
  it('keep the subclass name, code and cause', () => {
    const cause = new Error('inner');
    const err = new ConflictError('x', { cause });
    expect(err.name).toBe('ConflictError');
    expect(err.cause).toBe(cause);
    expect(new NotFoundError()).toMatchObject({ name: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('carry facts, never an HTTP status, title or headers', () => {
    for (const err of [new NotFoundError(), new RateLimitedError(3), new AuthenticationError('x', { tokenPresented: true }), new MethodNotAllowedError(['GET'])]) {
      expect(err).not.toHaveProperty('status');
      expect(err).not.toHaveProperty('title');
      expect(err).not.toHaveProperty('headers');
    }
    expect(new RateLimitedError(3).retryAfterSeconds).toBe(3);
    expect(new NotFoundError().retryAfterSeconds).toBeUndefined();
    expect(new AuthenticationError('x', { tokenPresented: true }).tokenPresented).toBe(true);
    expect(new MethodNotAllowedError(['GET', 'PUT']).allowedMethods).toEqual(['GET', 'PUT']);
    expect(new UnsupportedMediaTypeError(['application/json']).acceptedMediaTypes).toEqual(['application/json']);
    expect(new RequestTimeoutError('slow').closeConnection).toBe(true);
  });
});
