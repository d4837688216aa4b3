import { TableClient } from '@azure/data-tables';
import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_KEYS_TABLE } from '../../shared/vault/root-key-record.js';
import { ApiClient, ensureSandbox } from '../support/api-client.js';
import { customerAdmin } from '../support/customer-vault.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF0004KEKR@AdobeOrg';
const SYSTEM_KEY_NAME = 'cipherflow-system-kek'; // the default of SYSTEM_KEY_NAME
const KEYS = '/data/foundation/connectors/encryption/keys';
const FOLLOWED = 'system-kek-followed';
/** What the app's logger writes on every line: level, time, service, message, and the job's name and invocation. */
const LOGGER_FIELDS = new Set(['level', 'time', 'service', 'msg', 'function', 'invocationId']);

/** The `system-kek-followed` summaries logged so far. */
function summaries(runtime: RuntimeProcess): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  for (const line of runtime.lines) {
    if (!line.startsWith('{') || !line.includes(FOLLOWED)) continue;
    const message: unknown = (JSON.parse(line) as { message?: unknown }).message;
    if (typeof message === 'string') found.push(JSON.parse(message) as Record<string, unknown>);
  }
  return found;
}

/**
 * The `system-kek-rotate` timer in the compiled app (every second here): a rotation of the
 * system key made while the app runs is followed by the next run (root keys only), with a summary
 * of counts and nothing else in the log.
 */
describe('system-kek-rotate timer', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({ ...stack.env, SYSTEM_KEK_ROTATE_SCHEDULE: '*/1 * * * * *' });
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  it(
    're-wraps the root keys under an older system key version after the operator rotates it',
    { timeout: 60_000 },
    async () => {
      await runtime.waitForLine((e) => typeof e.message === 'string' && e.message.includes(FOLLOWED));
      // A stored key pair in each of two sandboxes: two root keys under the system KEK.
      await ensureSandbox(runtime.url, ORG, 'dev');
      for (const sandbox of ['prod', 'dev']) {
        await new ApiClient(runtime.url, ORG, sandbox).json('POST', KEYS, {
          name: `k ${sandbox}`,
          encryptionAlgorithm: 'PGP',
          params: { passPhrase: 'a passphrase the customer chose' },
        });
      }
      const rootKeys = TableClient.fromConnectionString(stack.azurite.connectionString, ROOT_KEYS_TABLE, {
        allowInsecureConnection: true,
      });
      // Every root key of the app (HPKE's own store has one too), and this org's.
      const allRows = async () => {
        const list = [];
        for await (const row of rootKeys.listEntities<Record<string, unknown>>()) list.push(row);
        return list;
      };
      const rows = async () => (await allRows()).filter((r) => r.partitionKey === ORG);
      const before = await rows();
      expect(before).toHaveLength(2);
      const oldVersion = before[0]?.kekVersion;
      expect(before.every((r) => r.kekName === SYSTEM_KEY_NAME && r.kekVersion === oldVersion)).toBe(true);

      // Settled before the rotation: a run that found nothing to move, so that the runs counted
      // below are the ones that follow the rotation.
      const settledAfter = summaries(runtime).length;
      const deadlineSettled = Date.now() + 30_000;
      while (!summaries(runtime).slice(settledAfter).some((s) => s.rewrapped === 0)) {
        if (Date.now() > deadlineSettled) throw new Error('no settled system-kek-rotate run within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const runsBefore = summaries(runtime).length;
      const settledVersion = (await rows())[0]?.kekVersion;
      expect((await allRows()).every((r) => r.kekVersion === settledVersion)).toBe(true);

      // Our operator rotates the system key (the emulator's Entra ID gives any principal the vault).
    const operator = new KeyClient(stack.vault.url, customerAdmin(stack.vault), {
        disableChallengeResourceVerification: true,
      });
      const rotated = await operator.createRsaKey(SYSTEM_KEY_NAME, { keySize: 3072, keyOps: ['wrapKey', 'unwrapKey'] });
      const newVersion = rotated.properties.version;
      expect(newVersion).toBeDefined();
      expect(newVersion).not.toBe(oldVersion);

      const deadline = Date.now() + 30_000;
      while (!(await allRows()).every((r) => r.kekVersion === newVersion)) {
        if (Date.now() > deadline) throw new Error('the system KEK rotation was not followed within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect((await rows()).map((r) => r.kekKeyId)).toEqual(
        before.map(() => `${stack.vault.url}/keys/${SYSTEM_KEY_NAME}/${newVersion}`),
      );
      const total = (await allRows()).length;
      // The runs since the rotation moved each root key once (a run under way at the rotation may
      // have moved some, the next one the rest); the log lines carry counts only.
      const moved = () => summaries(runtime).slice(runsBefore).reduce((n, s) => n + Number(s.rewrapped), 0);
      const deadlineLogged = Date.now() + 30_000;
      while (moved() < total && Date.now() < deadlineLogged) await new Promise((resolve) => setTimeout(resolve, 100));
      const since = summaries(runtime).slice(runsBefore);
      expect(since.reduce((n, s) => n + Number(s.rewrapped), 0)).toBe(total);
      // The summary's own fields, beside those the app's logger adds to every line.
      for (const s of since) expect(Object.keys(s).filter((k) => !LOGGER_FIELDS.has(k)).sort()).toEqual(['event', 'rewrapped', 'skipped', 'unchanged']);
      expect(since.every((s) => s.skipped === 0)).toBe(true);
      expect(runtime.lines.filter((l) => l.includes("Executed 'system-kek-rotate' (Failed"))).toEqual([]);
    },
  );
});
