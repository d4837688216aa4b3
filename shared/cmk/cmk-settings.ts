import { z } from 'zod';

/**
 * Settings of the CMK feature: our multi-tenant app registration, proof of key ownership, when a
 * config on an unreachable vault gives up, and a test-only crash hook.
 */
export interface CmkSettings {
  /** `CMK_APP_CLIENT_ID`: the application (client) id of our multi-tenant Entra ID app. */
  readonly appClientId: string;
  /** `CMK_APP_NAME`. */
  readonly appName: string;
  /** `CMK_APP_URI`: the app's URI, also its consent redirect URI. */
  readonly appUri: string;
  /**
   * `CMK_OWNERSHIP_GRACE_DAYS` (30): how long a config that took effect before keys had to prove
   * their owner (tag `cipherflow-org`) keeps working after the reconciler first finds it without
   * proof; then it fails with CMK_KEY_NOT_OWNED. 0 enforces at once.
   */
  readonly ownershipGraceDays: number;
  /**
   * `CMK_OPERATOR_VAULT_URLS`: comma-separated URLs of vaults cipherflow operates besides the system
   * KEK's (`SYSTEM_KEY_VAULT_URL`, always included); no key in them is accepted as a customer key.
   */
  readonly operatorVaultUrls: readonly string[];
  /**
   * `CMK_UNREACHABLE_GIVE_UP_MINUTES` (60): a config whose vault has not answered for this long
   * since it entered RUNNING (before the org's key state names its key) ends FAILED
   * KEY_VAULT_UNREACHABLE, so the org can send another.
   */
  readonly unreachableGiveUpMinutes: number;
  /**
   * `CMK_TEST_CRASH_AFTER_SANDBOXES`: tests only, off when absent. The reconciler's process dies
   * (SIGKILL) after re-wrapping this many sandboxes, to prove the re-wrap resumes after a crash.
   */
  readonly testCrashAfterSandboxes?: number;
}

// Local development gets a placeholder app; production must name the real registration.
const LOCAL_DEFAULTS = {
  CMK_APP_CLIENT_ID: '00000000-0000-4000-8000-00000000c3c3',
  CMK_APP_NAME: 'cipherflow-cmk-local',
  CMK_APP_URI: 'https://localhost/cipherflow-cmk',
} as const;

const Env = z.object({
  CMK_APP_CLIENT_ID: z.uuid(),
  CMK_APP_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,120}$/),
  CMK_APP_URI: z.url({ protocol: /^https$/ }),
  CMK_OWNERSHIP_GRACE_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  CMK_OPERATOR_VAULT_URLS: z.string().optional(),
  CMK_UNREACHABLE_GIVE_UP_MINUTES: z.coerce.number().int().min(1).max(7 * 24 * 60).default(60),
  CMK_TEST_CRASH_AFTER_SANDBOXES: z.coerce.number().int().min(1).optional(),
});

const VaultUrl = z.url({ protocol: /^https$/ });

/**
 * Reads the CMK settings. In local mode the app registration has placeholders; elsewhere each is
 * required and the crash hook is refused.
 * @throws Error naming each missing or malformed setting.
 */
export function parseCmkSettings(env: Readonly<Record<string, string | undefined>>): CmkSettings {
  const local = env.CIPHERFLOW_ENV === 'local';
  const pick = (name: keyof typeof LOCAL_DEFAULTS): string | undefined => env[name] ?? (local ? LOCAL_DEFAULTS[name] : undefined);
  const result = Env.safeParse({
    CMK_APP_CLIENT_ID: pick('CMK_APP_CLIENT_ID'),
    CMK_APP_NAME: pick('CMK_APP_NAME'),
    CMK_APP_URI: pick('CMK_APP_URI'),
    CMK_OWNERSHIP_GRACE_DAYS: blankAsAbsent(env.CMK_OWNERSHIP_GRACE_DAYS),
    CMK_OPERATOR_VAULT_URLS: blankAsAbsent(env.CMK_OPERATOR_VAULT_URLS),
    CMK_UNREACHABLE_GIVE_UP_MINUTES: blankAsAbsent(env.CMK_UNREACHABLE_GIVE_UP_MINUTES),
    CMK_TEST_CRASH_AFTER_SANDBOXES: blankAsAbsent(env.CMK_TEST_CRASH_AFTER_SANDBOXES),
  });
  if (!result.success) {
    throw new Error(`Invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = result.data;
  if (e.CMK_TEST_CRASH_AFTER_SANDBOXES !== undefined && !local) {
    throw new Error('Invalid configuration: CMK_TEST_CRASH_AFTER_SANDBOXES is a test hook, allowed only with CIPHERFLOW_ENV=local');
  }
  const operatorVaultUrls = (e.CMK_OPERATOR_VAULT_URLS ?? '').split(',').map((u) => u.trim()).filter((u) => u !== '');
  const badVault = operatorVaultUrls.find((u) => !VaultUrl.safeParse(u).success);
  if (badVault !== undefined) throw new Error('Invalid configuration: CMK_OPERATOR_VAULT_URLS must list https URLs separated by commas');
  return {
    appClientId: e.CMK_APP_CLIENT_ID,
    appName: e.CMK_APP_NAME,
    appUri: e.CMK_APP_URI,
    ownershipGraceDays: e.CMK_OWNERSHIP_GRACE_DAYS,
    operatorVaultUrls: operatorVaultUrls.map((u) => new URL(u).origin),
    unreachableGiveUpMinutes: e.CMK_UNREACHABLE_GIVE_UP_MINUTES,
    ...(e.CMK_TEST_CRASH_AFTER_SANDBOXES === undefined ? {} : { testCrashAfterSandboxes: e.CMK_TEST_CRASH_AFTER_SANDBOXES }),
  };
}

function blankAsAbsent(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
