import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID } from '../../shared/auth/auth-config.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { craftToken, foreignKey, issueDevToken } from '../support/tokens.js';

const ORG = 'CF0003CCCC@AdobeOrg';
const PASSPHRASE = 'correct-horse-battery-staple-7d1f';
const PLAINTEXT = 'SSN 078-05-1120 plaintext-marker-91c2';

/**
 * Drives the API through the local runtime with known secrets (tokens, a passphrase, plaintext)
 * in every place a request can carry them, then scans every line the runtime printed.
 */
describe('secrets never reach the logs', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
  });
  afterAll(async () => {
    await runtime.stop();
    await stack.stop();
  });

  it('logs none of the tokens, passphrases or payloads of good and bad requests', async () => {
    const token = await issueDevToken({ org: ORG });
    const forged = await craftToken({ org: ORG, key: foreignKey() });
    const base = { 'x-api-key': DEV_CLIENT_ID, 'x-gw-ims-org-id': ORG, 'content-type': 'application/json' };
    const url = `${runtime.url}/data/foundation/catalog/dataSets`;
    const bodies = [
      JSON.stringify({ name: 'ok', description: PLAINTEXT }),
      JSON.stringify({ name: 'x', params: { passPhrase: PASSPHRASE } }),
      JSON.stringify({ name: PASSPHRASE, passPhrase: PASSPHRASE }),
      `{"name": "${PLAINTEXT}"`,
      JSON.stringify({ name: 7, description: PLAINTEXT }),
    ];
    const statuses: number[] = [];
    for (const authorization of [`Bearer ${token}`, `Bearer ${forged}`, `Basic ${Buffer.from(`u:${PASSPHRASE}`).toString('base64')}`]) {
      for (const body of bodies) {
        const res = await fetch(url, { method: 'POST', headers: { ...base, authorization }, body });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      const res = await fetch(`${url}/${'0'.repeat(24)}?passPhrase=${PASSPHRASE}`, { headers: { ...base, authorization } });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // The requests really were served and refused in several ways.
    expect(statuses).toEqual(expect.arrayContaining([201, 400, 401, 404]));
    await runtime.waitForLine((e) => e.msg === 'request completed' && e.status === 404);

    const secrets = [token, token.split('.')[2] ?? token, forged, PASSPHRASE, PLAINTEXT, 'plaintext-marker-91c2'];
    const log = runtime.lines.join('\n');
    expect(runtime.lines.length).toBeGreaterThan(20);
    for (const secret of secrets) {
      expect(log.includes(secret), `a log line contains ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});
