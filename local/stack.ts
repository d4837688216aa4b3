import { startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { ensureDevTls } from './dev-tls.js';
import { startAzurite, type AzuriteInstance } from './azurite.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from './keyvault-emulator/index.js';

export interface LocalStack {
  readonly azurite: AzuriteInstance;
  readonly vault: KeyVaultEmulator;
  readonly issuer: DevIssuer;
  /** App settings that point the app's production code at this stack (as `npm start` sets them). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts what `npm start` starts besides the runtime: Azurite in memory on free ports and the Key
 * Vault emulator in this process (so tests can drive its admin controls directly).
 */
export async function startLocalStack(): Promise<LocalStack> {
  const tls = await ensureDevTls();
  const [azurite, vault, issuer] = await Promise.all([
    startAzurite(),
    startKeyVaultEmulator({ port: 0, tls }),
    startDevIssuer({ port: 0, env: { CIPHERFLOW_ENV: 'local' } }),
  ]);
  return {
    azurite,
    vault,
    issuer,
    env: {
      CIPHERFLOW_ENV: 'local',
      AUTH_JWKS_URL: issuer.jwksUrl,
      AzureWebJobsStorage: azurite.connectionString,
      SYSTEM_KEY_VAULT_URL: vault.url,
      NODE_EXTRA_CA_CERTS: tls.caPath,
      ...vault.env(),
    },
    stop: async () => {
      await Promise.all([issuer.close(), vault.close(), azurite.stop()]);
    },
  };
}
