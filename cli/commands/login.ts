import { Option, type Command } from 'commander';
import { decodeJwt } from 'jose';
import { EncryptionKeyList } from '../../shared/api/openapi/response-schemas.js';
import { ApiClient } from '../api-client.js';
import { DEFAULT_BASE_URL, saveConfig, type CliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * `cipherflow login --org ORG [--sandbox S] [--base-url URL] [--local|--no-local] [--api-key K]`:
 * checks the identity with one authenticated call, then saves the config. Local mode (the default
 * for a loopback base URL) mints development tokens; otherwise `CIPHERFLOW_TOKEN` is used.
 */
export function registerLogin(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('save the org, sandbox and API to use (local: development issuer; otherwise CIPHERFLOW_TOKEN)')
    .requiredOption('--org <org>', 'IMS org id, e.g. ACME1234@AdobeOrg')
    .option('--sandbox <name>', 'sandbox', 'prod')
    .option('--base-url <url>', 'API base URL', DEFAULT_BASE_URL)
    .addOption(new Option('--local', 'use the development issuer (default for a loopback base URL)'))
    .addOption(new Option('--no-local', 'take the token from CIPHERFLOW_TOKEN'))
    .option('--api-key <key>', "x-api-key (default: the token's client_id claim)")
    .action(async (opts: { org: string; sandbox: string; baseUrl: string; local?: boolean; apiKey?: string }) => {
      let base: URL;
      try {
        base = new URL(opts.baseUrl);
      } catch {
        throw new CliError(`--base-url is not a URL: ${opts.baseUrl}`, EXIT.USAGE);
      }
      const local = opts.local ?? LOOPBACK_HOSTS.has(base.hostname);
      const config: CliConfig = {
        baseUrl: base.origin,
        org: opts.org,
        sandbox: opts.sandbox,
        apiKey:
          opts.apiKey ?? (local ? (await import('../../shared/config/defaults.js')).DEV_CLIENT_ID : clientIdOfToken()),
        mode: local ? 'local' : 'token',
      };
      await new ApiClient(config).json('GET', '/data/foundation/connectors/encryption/keys', EncryptionKeyList);
      await saveConfig(ctx.configFile(), config);
      ctx.print(
        `logged in: org ${config.org}, sandbox ${config.sandbox}, ${config.baseUrl} (${local ? 'local development issuer' : 'token from CIPHERFLOW_TOKEN'})`,
        {
          ...config,
          configFile: ctx.configFile(),
        },
      );
    });
}

/** The API key is the token's client id; read (not verified: the API verifies) from the token. */
function clientIdOfToken(): string {
  const token = process.env.CIPHERFLOW_TOKEN?.trim();
  if (token === undefined || token === '')
    throw new CliError('no access token: set CIPHERFLOW_TOKEN (or log in to a local API)', EXIT.AUTH);
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token);
  } catch {
    throw new CliError('CIPHERFLOW_TOKEN is not a JWT', EXIT.AUTH);
  }
  const clientId = claims.client_id ?? claims.azp ?? claims.appid;
  if (typeof clientId !== 'string' || clientId === '')
    throw new CliError('the token names no client id; pass --api-key', EXIT.USAGE);
  return clientId;
}
