import { createAuthenticator } from '../auth/authenticate.js';
import { createTokenVerifier } from '../auth/verify-token.js';
import { appServices } from './services.js';
import { appConfig } from '../config/app-config.js';
import { createLogger } from '../logging/logger.js';
import { createHpkeCodecs } from '../http/hpke-codec.js';
import { createApiPipeline, type ApiPipeline } from '../http/pipeline.js';
import { bodyTimeouts } from '../http/read-body.js';
import { createRateLimiter } from '../http/rate-limit.js';
import { createSandboxGate, type SandboxGate } from '../sandboxes/sandbox-gate.js';
import { sandboxExists } from '../sandboxes/sandboxes.js';

let cached: ApiPipeline | undefined;

/** How long an instance trusts that a sandbox it saw still exists (a deleted one stays usable there that long). */
const SANDBOX_GATE_TTL_MS = 30_000;

/**
 * The process's pipeline, built on first use from the one configuration ({@link appConfig}):
 * remote JWKS verifier (`AUTH_*`), stdout logger (`LOG_LEVEL`), JSON and HPKE
 * (`application/octet-stream+hpke`) bodies, the per-org rate limit (`API_RATE_LIMIT_PER_ORG`),
 * the request body timeout (`REQUEST_BODY_TIMEOUT_SECONDS`). Call it once at start-up: it parses
 * every setting, so any bad one stops the start.
 *
 * @throws ConfigError naming every missing or malformed setting (e.g. no `AUTH_JWKS_URL` outside local mode).
 */
export function appPipeline(): ApiPipeline {
  if (cached === undefined) {
    const config = appConfig();
    const hpke = createHpkeCodecs(async () => (await appServices()).hpke);
    cached = createApiPipeline({
      authenticate: createAuthenticator(createTokenVerifier(config.auth)),
      logger: createLogger({ level: config.logging.level }),
      codecs: [hpke.json, hpke.request],
      responseCodecs: [hpke.response],
      rateLimit: createRateLimiter({ ratePerSecond: config.http.rateLimitPerOrg }),
      bodyTimeouts: bodyTimeouts(config.http.requestBodyTimeoutSeconds),
      sandboxGate: sandboxGate(),
    });
  }
  return cached;
}

let gate: SandboxGate | undefined;

/** The process's sandbox check (the pipeline's), which `sandboxes-delete` tells of a deletion. */
export function sandboxGate(): SandboxGate {
  gate ??= createSandboxGate(async (scope) => sandboxExists((await appServices()).sandboxes, scope), { ttlMs: SANDBOX_GATE_TTL_MS });
  return gate;
}
