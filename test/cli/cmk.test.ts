import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { ensureDevTls } from '../../local/dev-tls.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../../local/keyvault-emulator/index.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { jsonOf, runCli } from './run-cli.js';
import { customerAdmin } from '../support/customer-vault.js';

const ORG_GOOD = 'CF1301CMKCLI@AdobeOrg';
const ORG_SMALL = 'CF1302CMKCLI@AdobeOrg';

/** `cipherflow cmk submit` then `cmk status --watch` until the reconciler settles the config. */
describe('cipherflow cmk', () => {
  let stack: LocalStack;
  let customerVault: KeyVaultEmulator;
  let runtime: RuntimeProcess;
  let keys: KeyClient;
  let dir: string;

  beforeAll(async () => {
    stack = await startLocalStack();
    customerVault = await startKeyVaultEmulator({
      port: 0,
      tls: await ensureDevTls(),
      tokenAuthority: stack.vault.tokenAuthority,
    });
    keys = new KeyClient(customerVault.url, customerAdmin(customerVault), {
      disableChallengeResourceVerification: true,
    });
    runtime = await startRuntime({
      ...stack.env,
      CMK_RECONCILE_SCHEDULE: '*/1 * * * * *',
      CIPHERFLOW_TIMER_LOCK_POLL_MS: '500',
    });
    dir = await mkdtemp(join(tmpdir(), 'cipherflow-cli-cmk-'));
  });

  afterAll(async () => {
    await runtime?.stop();
    await customerVault?.close();
    await stack?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function asOrg(org: string) {
    const env = { CIPHERFLOW_CONFIG: join(dir, `${org}.json`) };
    const login = await runCli(['login', '--org', org, '--base-url', runtime.url], env);
    expect(login.code, login.stderr).toBe(0);
    return (...args: string[]) => runCli(args, env);
  }

  it('submits a good key and watches it to COMPLETED (exit 0)', async () => {
    const cli = await asOrg(ORG_GOOD);
    const kid = (await keys.createRsaKey('cli-cmk', { keySize: 3072, tags: { 'cipherflow-org': ORG_GOOD } })).id ?? '';
    const submitted = jsonOf<{ config: { status: string } }>(
      await cli('--json', 'cmk', 'submit', '--name', 'Config1', '--key-id', kid),
    );
    expect(submitted.config.status).toBe('NEW');
    const watched = await cli('cmk', 'status', 'Config1', '--watch', '--interval', '0.5', '--timeout', '60');
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain('Config1: COMPLETED');
    expect(watched.stderr).toMatch(/^Config1: COMPLETED$/m);
  });

  it('watches a key that is too small to FAILED with its code (exit 5)', async () => {
    const cli = await asOrg(ORG_SMALL);
    const kid = (await keys.createRsaKey('cli-small', { keySize: 2048, tags: { 'cipherflow-org': ORG_SMALL } })).id ?? '';
    expect((await cli('cmk', 'submit', '--name', 'Small', '--key-id', kid)).code).toBe(0);
    const watched = await cli('cmk', 'status', 'Small', '--watch', '--interval', '0.5', '--timeout', '60');
    expect(watched.code).toBe(EXIT.FAILED);
    expect(watched.stdout).toContain('Small: FAILED');
    expect(watched.stdout).toMatch(/^failure: KEY_TOO_SMALL: /m);
  });
});
