import { z } from 'zod';

/** Settings of the CMK feature: our multi-tenant app registration, and a test-only crash hook. */
export interface CmkSettings {
  /** `CMK_APP_CLIENT_ID`: the application (client) id of our multi-tenant Entra ID app. */
  readonly appClientId: string;
  /** `CMK_APP_NAME`. */
  readonly appName: string;
  /** `CMK_APP_URI`: the app's URI, also its consent redirect URI. */
  readonly appUri: string;
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
  CMK_TEST_CRASH_AFTER_SANDBOXES: z.coerce.number().int().min(1).optional(),
});

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
    CMK_TEST_CRASH_AFTER_SANDBOXES: env.CMK_TEST_CRASH_AFTER_SANDBOXES === '' ? undefined : env.CMK_TEST_CRASH_AFTER_SANDBOXES,
  });
  if (!result.success) {
    throw new Error(`Invalid configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = result.data;
  if (e.CMK_TEST_CRASH_AFTER_SANDBOXES !== undefined && !local) {
    throw new Error('Invalid configuration: CMK_TEST_CRASH_AFTER_SANDBOXES is a test hook, allowed only with CIPHERFLOW_ENV=local');
  }
  return {
    appClientId: e.CMK_APP_CLIENT_ID,
    appName: e.CMK_APP_NAME,
    appUri: e.CMK_APP_URI,
    ...(e.CMK_TEST_CRASH_AFTER_SANDBOXES === undefined ? {} : { testCrashAfterSandboxes: e.CMK_TEST_CRASH_AFTER_SANDBOXES }),
  };
}
