import { defineConfig } from 'vitest/config';
import { ensureDevTls } from './local/dev-tls.js';

// The Key Vault emulator serves HTTPS with a certificate from a local development CA. Node reads
// NODE_EXTRA_CA_CERTS only when a process starts, so it is set here, before the test workers fork
// (they inherit this process's environment). TLS verification itself stays on.
export default defineConfig(async () => {
  const tls = await ensureDevTls();
  process.env.NODE_EXTRA_CA_CERTS = tls.caPath;
  return {
    test: {
      pool: 'forks',
      include: ['test/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  };
});
