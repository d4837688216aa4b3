import { DefaultAzureCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { expect } from 'vitest';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';

/**
 * Client options every test uses. The emulator answers the 401 challenge with
 * `resource="https://vault.azure.net"`, and the client checks that the vault host ends with
 * `.vault.azure.net`; 127.0.0.1 does not, so that check is turned off (only here, for localhost).
 */
export const CLIENT_OPTIONS = { disableChallengeResourceVerification: true } as const;

/** Starts an emulator and points this process's managed identity environment at it. */
export async function startEmulator(dataFile?: string): Promise<KeyVaultEmulator> {
  const tls = await ensureDevTls();
  const emulator = await startKeyVaultEmulator({ port: 0, tls, ...(dataFile ? { dataFile } : {}) });
  // DefaultAzureCredential -> ManagedIdentityCredential reads these, as on App Service/Functions.
  process.env.IDENTITY_ENDPOINT = emulator.identityEndpoint;
  process.env.IDENTITY_HEADER = emulator.identityHeader;
  return emulator;
}

/** The credential the app itself uses. */
export function appCredential(): DefaultAzureCredential {
  return new DefaultAzureCredential();
}

/** A KeyClient exactly as the app builds one, against the emulator. */
export function keyClient(emulator: KeyVaultEmulator, credential: ConstructorParameters<typeof KeyClient>[1] = appCredential()): KeyClient {
  return new KeyClient(emulator.url, credential, CLIENT_OPTIONS);
}

/** Asserts a Key Vault error as RestError exposes it: status, `code`, and `innererror.code`. */
export async function expectVaultError(promise: Promise<unknown>, status: number, code: string, innerCode?: string): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRestErrorLike(err)) throw new Error(`expected a RestError ${status} ${code}, got ${String(err)}`);
  expect(err.statusCode).toBe(status);
  expect(err.code).toBe(code);
  if (innerCode !== undefined) {
    const details = err.details as { error?: { innerError?: { code?: string } } } | undefined;
    expect(details?.error?.innerError?.code).toBe(innerCode);
  }
}

/** A unique key name per test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

interface RestErrorLike {
  name: string;
  statusCode?: number;
  code?: string;
  details?: unknown;
}

function isRestErrorLike(err: unknown): err is RestErrorLike {
  return err instanceof Error && err.name === 'RestError';
}
