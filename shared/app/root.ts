/**
 * The composition root: the one place a process builds what it runs on, once. From the one
 * configuration ({@link appConfig}, every setting parsed and checked at start) it makes the one
 * clock, random source and logger, the request pipeline (built eagerly, so a bad setting stops
 * the start) and, on first use, the services (clients, tables, key hierarchy, stores) every HTTP
 * operation and job is handed. Nothing below `shared/app/` reaches for any of it.
 */
import { createAuthenticator } from '../auth/authenticate.js';
import { createTokenVerifier } from '../auth/verify-token.js';
import { appConfig, type AppConfig } from '../config/app-config.js';
import { systemClock } from '../core/clock.js';
import { systemRandom } from '../core/random.js';
import { createHpkeCodecs } from '../http/hpke-codec.js';
import { createApiPipeline, type ApiPipeline } from '../http/pipeline.js';
import { bodyTimeouts } from '../http/read-body.js';
import { createRateLimiter } from '../http/rate-limit.js';
import { invocationDestination } from '../logging/invocation-log.js';
import { createLogger, type Logger } from '../logging/logger.js';
import type { SandboxGate } from '../sandboxes/sandbox-gate.js';
import { buildServices, type AppServices } from './services.js';

export interface AppRoot {
  readonly config: AppConfig;
  readonly logger: Logger;
  /**
   * The request pipeline: remote JWKS verifier (`AUTH_*`), JSON and HPKE
   * (`application/octet-stream+hpke`) bodies, the per-org rate limit (`API_RATE_LIMIT_PER_ORG`),
   * the request body timeout (`REQUEST_BODY_TIMEOUT_SECONDS`), the services' sandbox check.
   */
  readonly pipeline: ApiPipeline;
  /** The services, built on first use (a failed build is retried by the next call). */
  services(): Promise<AppServices>;
}

let root: AppRoot | undefined;

/**
 * The process's root, built on first use. Call it once at start-up (`functions/lib/app-setup.ts`
 * does): it parses every setting, so any bad one stops the start.
 * @throws ConfigError naming every missing or malformed setting.
 */
export function appRoot(): AppRoot {
  root ??= buildRoot(appConfig());
  return root;
}

/** The process's services (`appRoot().services()`). */
export function appServices(): Promise<AppServices> {
  return appRoot().services();
}

function buildRoot(config: AppConfig): AppRoot {
  const logger = createLogger({ level: config.logging.level, destination: invocationDestination });
  let services: Promise<AppServices> | undefined;
  const getServices = (): Promise<AppServices> => {
    services ??= buildServices({ config, clock: systemClock, random: systemRandom, logger }).catch((err: unknown) => {
      services = undefined;
      throw err;
    });
    return services;
  };
  const sandboxGate: Pick<SandboxGate, 'check'> = { check: async (scope) => (await getServices()).sandboxGate.check(scope) };
  const hpke = createHpkeCodecs(async () => (await getServices()).hpke);
  const pipeline = createApiPipeline({
    authenticate: createAuthenticator(createTokenVerifier(config.auth)),
    logger,
    codecs: [hpke.json, hpke.request],
    responseCodecs: [hpke.response],
    rateLimit: createRateLimiter({ ratePerSecond: config.http.rateLimitPerOrg }),
    bodyTimeouts: bodyTimeouts(config.http.requestBodyTimeoutSeconds),
    sandboxGate,
  });
  return { config, logger, pipeline, services: getServices };
}
