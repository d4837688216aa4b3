import { parseAuthConfig } from '../auth/auth-config.js';
import { createAuthenticator } from '../auth/authenticate.js';
import { createTokenVerifier } from '../auth/verify-token.js';
import { createLogger } from '../logging/logger.js';
import { createApiPipeline, type ApiPipeline } from './pipeline.js';

let cached: ApiPipeline | undefined;

/**
 * The process's pipeline, built on first use from `process.env`: remote JWKS verifier, stdout
 * logger. Call it once at start-up so a bad auth configuration stops the start.
 *
 * @throws ConfigError naming a missing or malformed auth setting (e.g. no `AUTH_JWKS_URL` outside local mode).
 */
export function appPipeline(): ApiPipeline {
  cached ??= createApiPipeline({
    authenticate: createAuthenticator(createTokenVerifier(parseAuthConfig(process.env))),
    logger: createLogger(),
  });
  return cached;
}
