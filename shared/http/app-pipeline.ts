import { parseAuthConfig } from '../auth/auth-config.js';
import { createAuthenticator } from '../auth/authenticate.js';
import { createTokenVerifier } from '../auth/verify-token.js';
import { appServices } from '../azure/app-services.js';
import { hpkeServices } from '../hpke/hpke-services.js';
import { createLogger } from '../logging/logger.js';
import { createHpkeCodecs } from './hpke-codec.js';
import { createApiPipeline, type ApiPipeline } from './pipeline.js';
import { createRateLimiter, parseRateLimit } from './rate-limit.js';

let cached: ApiPipeline | undefined;

/**
 * The process's pipeline, built on first use from `process.env`: remote JWKS verifier, stdout
 * logger, JSON and HPKE (`application/octet-stream+hpke`) bodies, the per-org rate limit
 * (`API_RATE_LIMIT_PER_ORG`). Call it once at start-up so a bad auth configuration stops the start.
 *
 * @throws ConfigError naming a missing or malformed auth or rate-limit setting (e.g. no `AUTH_JWKS_URL` outside local mode).
 */
export function appPipeline(): ApiPipeline {
  if (cached === undefined) {
    const hpke = createHpkeCodecs(() => hpkeServices(appServices));
    cached = createApiPipeline({
      authenticate: createAuthenticator(createTokenVerifier(parseAuthConfig(process.env))),
      logger: createLogger(),
      codecs: [hpke.json, hpke.request],
      responseCodecs: [hpke.response],
      rateLimit: createRateLimiter({ ratePerSecond: parseRateLimit(process.env) }),
    });
  }
  return cached;
}
