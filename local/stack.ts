import { startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { ensureDevTls } from './dev-tls.js';
import { startAzurite, type AzuriteInstance } from './azurite.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from './keyvault-emulator/index.js';
import { LANDING_EVENTS_QUEUE, landingAppSettings, startLandingEvents } from './landing-events.js';

export interface LocalStack {
  readonly azurite: AzuriteInstance;
  readonly vault: KeyVaultEmulator;
  readonly issuer: DevIssuer;
  /** The landing account as clients see it: through the local Event Grid proxy. */
  readonly landing: {
    readonly accountName: string;
    readonly accountKey: string;
    /** `http://127.0.0.1:{proxyPort}/devlandingstore1` */
    readonly blobEndpoint: string;
    /** The landing account through the proxy (what `env.LandingStorage` holds). */
    readonly connectionString: string;
  };
  /** App settings that point the app's production code at this stack (as `npm start` sets them). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts what `npm start` starts besides the runtime: Azurite in memory on free ports, the landing
 * account's local Event Grid proxy, and the Key Vault emulator in this process (so tests can drive
 * its admin controls directly).
 */
export async function startLocalStack(): Promise<LocalStack> {
  const tls = await ensureDevTls();
  const [azurite, vault, issuer] = await Promise.all([
    startAzurite(),
    startKeyVaultEmulator({ port: 0, tls }),
    startDevIssuer({ port: 0, env: { CIPHERFLOW_ENV: 'local' } }),
  ]);
  const landing = await startLandingEvents({
    upstream: azurite.landing,
    queue: { connectionString: azurite.connectionString, queueName: LANDING_EVENTS_QUEUE },
    port: 0,
  });
  return {
    azurite,
    vault,
    issuer,
    landing: {
      accountName: azurite.landing.accountName,
      accountKey: azurite.landing.accountKey,
      blobEndpoint: landing.blobEndpoint,
      connectionString: landing.connectionString,
    },
    env: {
      CIPHERFLOW_ENV: 'local',
      AUTH_JWKS_URL: issuer.jwksUrl,
      AzureWebJobsStorage: azurite.connectionString,
      SYSTEM_KEY_VAULT_URL: vault.url,
      NODE_EXTRA_CA_CERTS: tls.caPath,
      ...vault.env(),
      ...landingAppSettings(landing),
    },
    stop: async () => {
      await landing.close();
      await Promise.all([issuer.close(), vault.close(), azurite.stop()]);
    },
  };
}
