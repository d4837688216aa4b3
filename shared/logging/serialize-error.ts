/** What a log line says about an error: its class, code, message and stack, and the same for its causes. */
export interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly cause?: SerializedError;
}

const MAX_CAUSE_DEPTH = 5;

/**
 * Reduces an error to a fixed set of fields for internal logs. Other enumerable properties are
 * dropped on purpose: SDK and library errors carry requests, headers and response bodies, which
 * may hold tokens or payloads (pino's default serializer would copy them all).
 */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: 'non-Error value thrown' };
  const code = (err as { code?: unknown }).code;
  const cause = err.cause;
  return {
    type: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(err.stack === undefined ? {} : { stack: err.stack }),
    ...(cause !== undefined && depth < MAX_CAUSE_DEPTH ? { cause: serializeError(cause, depth + 1) } : {}),
  };
}
