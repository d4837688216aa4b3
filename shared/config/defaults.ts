import { availableParallelism } from 'node:os';

// Defaults of settings that code outside the configuration uses too, as the default of an option
// when a caller passes none. They are declared here, below everything, so the setting's default
// and the option's are one number. Plain constants, no parsing: worker threads import some.

/**
 * The development issuer's identity (`local/dev-issuer.ts`), the `AUTH_*` defaults in local mode
 * only. The issuer is a fixed string rather than `http://127.0.0.1:<port>` so a token minted by
 * `npm run token` (which signs with the key file and needs no server) stays valid whichever port
 * the issuer serves on.
 */
export const DEV_ISSUER = 'cipherflow-dev-issuer';
export const DEV_AUDIENCE = 'cipherflow';
export const DEV_CLIENT_ID = 'cipherflow-dev-client';
export const DEV_ISSUER_PORT = 7072;
export const DEV_JWKS_PATH = '/.well-known/jwks.json';

/** `MAX_FILE_BYTES`: 1 GiB, Adobe's limit. */
export const DEFAULT_MAX_FILE_BYTES = 1024 ** 3;
/** `MAX_COMPRESSION_RATIO` (measurements in `shared/pgp/config.ts`). */
export const DEFAULT_MAX_COMPRESSION_RATIO = 250;
/** `MAX_PKESK_PER_MESSAGE`. */
export const DEFAULT_MAX_PKESK_PER_MESSAGE = 16;
/** `KEY_CACHE_TTL_SECONDS`. */
export const DEFAULT_KEY_CACHE_TTL_SECONDS = 300;
/** `REQUEST_BODY_TIMEOUT_SECONDS`. */
export const DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS = 60;
/** The most `API_RATE_LIMIT_PER_ORG` may be. */
export const MAX_RATE_LIMIT_PER_ORG = 100_000;
/** `PRIVATE_KEY_WAITING`. */
export const DEFAULT_PRIVATE_KEY_WAITING = 8;

/** `PRIVATE_KEY_WORKERS` when unset: the cores less one for the thread serving HTTP, at least 1, at most 4. */
export function defaultPrivateKeyWorkers(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}
