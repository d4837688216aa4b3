import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { useZoneStack } from './support/zone-stack.js';

const ORG = 'CF16A6TYPO@AdobeOrg';

/**
 * Attack (or accident): a mistyped `x-sandbox-name` (`prdo`) used to create a sandbox silently,
 * and with it a landing zone whose SAS the caller then held. Every route now answers 404
 * SANDBOX_NOT_FOUND and nothing is created: no zone row, no container, no credential.
 */
describe('attack: a mistyped or made-up sandbox', () => {
  const zones = useZoneStack();

  it('gets 404 SANDBOX_NOT_FOUND from the landing-zone routes and creates no container', async () => {
    const landing = BlobServiceClient.fromConnectionString(zones.stack.landing.connectionString);
    const before: string[] = [];
    for await (const c of landing.listContainers()) before.push(c.name);
    for (const [method, path] of [
      ['GET', '/data/foundation/connectors/landingzone?type=user_drop_zone'],
      ['GET', '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone'],
      ['POST', '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone&action=refresh'],
      ['POST', '/data/foundation/catalog/dataSets'],
    ] as const) {
      const res = await zones.api(ORG, 'prdo').request(method, path, method === 'POST' && path.endsWith('dataSets') ? { name: 'x' } : undefined);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { code: string }).code, path).toBe('SANDBOX_NOT_FOUND');
    }
    const after: string[] = [];
    for await (const c of landing.listContainers()) after.push(c.name);
    expect(after).toEqual(before);
  });
});
