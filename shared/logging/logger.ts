import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/settings.js';
import { serializeError } from './serialize-error.js';

export type { Logger } from 'pino';

/**
 * Field names whose values are secrets wherever they appear. Redaction is the second line of
 * defence: the first is that request bodies and header sets are never logged wholesale.
 */
const SECRET_FIELDS = [
  'authorization',
  'x-api-key',
  'cookie',
  'set-cookie',
  'token',
  'accessToken',
  'access_token',
  'idToken',
  'refreshToken',
  'passPhrase',
  'passphrase',
  'password',
  'secret',
  'clientSecret',
  'privateKey',
  'private_key',
  'keyMaterial',
  'plaintext',
  'payload',
  'body',
  'd',
] as const;

/** Nesting depths at which {@link SECRET_FIELDS} are redacted (pino's wildcard spans one level). */
const REDACT_DEPTH = 3;

/** The pino `redact` paths: every secret field at the top level and up to {@link REDACT_DEPTH} levels down. */
export const LOG_REDACT_PATHS: readonly string[] = SECRET_FIELDS.flatMap((field) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
  return Array.from({ length: REDACT_DEPTH + 1 }, (_, depth) => {
    const prefix = '*.'.repeat(depth);
    return key.startsWith('[') ? `${prefix.replace(/\.$/, '')}${key}` : `${prefix}${key}`;
  });
});

export const REDACTED = '[REDACTED]';

export interface LoggerOptions {
  /** Where JSON lines go; default stdout, which the Functions host collects. Tests pass a capture. */
  readonly destination?: DestinationStream;
  /** The least severe level written (the app passes `LOG_LEVEL`); default `info`. */
  readonly level?: LogLevel;
}

/**
 * Creates the app's structured JSON logger: ISO timestamps, level names, secret fields redacted,
 * errors reduced by {@link serializeError}.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const config = {
    level: options.level ?? 'info',
    base: { service: 'cipherflow' },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...LOG_REDACT_PATHS], censor: REDACTED },
    serializers: { err: serializeError },
  };
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}
