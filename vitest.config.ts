import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { ensureDevTls } from './local/dev-tls.js';
import { checkTestTiers, findTestFiles, TEST_TIERS, type TestTier } from './test/tiers.js';

// Unit tests run first, on every core: nothing else runs beside them. Integration and e2e tests
// then run one file at a time (vitest's default on 2 cores), leaving a core to the Azurite,
// runtime and gpg processes they start.
const UNIT = { testTimeout: 10_000, hookTimeout: 10_000, maxWorkers: '100%', sequence: { groupOrder: 0 } };
const SLOW = { testTimeout: 60_000, hookTimeout: 120_000, sequence: { groupOrder: 1 } };

// The Key Vault emulator serves HTTPS with a certificate from a local development CA. Node reads
// NODE_EXTRA_CA_CERTS only when a process starts, so it is set here, before the test workers fork
// (they inherit this process's environment). TLS verification itself stays on.
export default defineConfig(async () => {
  // Before anything runs: a test file in no tier would silently drop out of `npm test`.
  checkTestTiers(findTestFiles(fileURLToPath(new URL('.', import.meta.url))));
  const tls = await ensureDevTls();
  process.env.NODE_EXTRA_CA_CERTS = tls.caPath;
  const project = (name: TestTier, options: typeof UNIT | typeof SLOW) => ({
    test: { name, pool: 'forks' as const, include: [...TEST_TIERS[name]], ...options },
  });
  return {
    test: {
      projects: [project('unit', UNIT), project('integration', SLOW), project('e2e', SLOW)],
    },
  };
});
