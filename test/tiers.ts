import { readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Which vitest project runs each test file (STYLE.md §12). A file's tier is what it needs, not the
 * folder it sits in:
 * - `unit`: nothing but `node_modules`. No emulator, no Azurite, no child process, nothing from
 *   the build (`dist/`); a network listener only where the test makes an in-process loopback
 *   server itself. The inner loop: seconds.
 * - `integration`: Azurite and/or the Key Vault emulator, driven from this process; no build.
 * - `e2e`: the build (`npm run build`): the local Functions runtime or another child process (gpg,
 *   bzip2/zip, the CLI, `npm start`, a fixture app, a second node), or a worker thread, which Node
 *   starts only from compiled JavaScript (shared/core/worker-module.ts).
 *
 * A new test file goes into exactly one list: vitest.config.ts refuses to start otherwise.
 */
export const TEST_TIERS = {
  unit: [
    'test/architecture/layers.test.ts',
    'test/api/auth-config.test.ts',
    'test/api/auth.test.ts',
    'test/api/body.test.ts',
    'test/api/dev-issuer.test.ts',
    'test/api/jwks-fetch.test.ts',
    'test/api/log-secrets.test.ts',
    'test/api/logger.test.ts',
    'test/api/invocation-log.test.ts',
    'test/api/operation.test.ts',
    'test/api/pipeline.test.ts',
    'test/api/problems.test.ts',
    'test/api/query.test.ts',
    'test/azure/landing-account-key.test.ts',
    'test/azure/tenant-routing-credential.test.ts',
    'test/cli/export.test.ts',
    'test/cli/parts.test.ts',
    'test/cmk/key-ownership.test.ts',
    'test/cmk/validate-cmk-key.test.ts',
    'test/config/load-config.test.ts',
    'test/config/readme-settings.test.ts',
    'test/contracts/kek-memory.test.ts',
    'test/contracts/tables-memory.test.ts',
    'test/flows/cloud-source-path.test.ts',
    'test/flows/flow-schedules.test.ts',
    'test/flows/run-id.test.ts',
    'test/flows/source-path.test.ts',
    'test/functions/trigger-settings.test.ts',
    'test/sources/connection-auth.test.ts',
    'test/sources/connection-slots.test.ts',
    'test/sources/sftp-key-cache.test.ts',
    'test/hpke/client-key-cache-policy.test.ts',
    'test/hpke/client-key-cache.test.ts',
    'test/hpke/client-keys.test.ts',
    'test/hpke/client-public-key.test.ts',
    'test/hpke/client.test.ts',
    'test/hpke/hpke-services.test.ts',
    'test/hpke/interop-libraries.test.ts',
    'test/hpke/node-backend-reference.test.ts',
    'test/hpke/rfc9180-vectors.test.ts',
    'test/hpke/stream.test.ts',
    'test/infra/bicep-structure.test.ts',
    'test/infra/bicep-syntax.test.ts',
    'test/ingestion/blob-created-event.test.ts',
    'test/ingestion/parked-files.test.ts',
    'test/ingestion/record-counter.test.ts',
    'test/ingestion/scan-source.test.ts',
    'test/landing-zones/explore-path.test.ts',
    'test/local/kill-switch.test.ts',
    'test/openapi/openapi-document.test.ts',
    'test/outbound/address-policy.test.ts',
    'test/outbound/guard.test.ts',
    'test/outbound/pinned-agent.test.ts',
    'test/pgp/node-to-web.test.ts',
    'test/runtime/body-watchdog.test.ts',
    'test/runtime/queue-trigger-settings.test.ts',
    'test/runtime/route-template.test.ts',
    'test/security/api-key-constant-time.test.ts',
    'test/security/export-links-host-header-public-base-url.test.ts',
    'test/security/health-key-vault-amplification-probe-cache.test.ts',
    'test/security/hpke-body-hostile.test.ts',
    'test/security/json-body-hostile.test.ts',
    'test/security/jwt-future-iat.test.ts',
    'test/security/key-vault-key-id-hostile.test.ts',
    'test/security/pgp-customer-key-hostile.test.ts',
    'test/security/pgp-no-mdc-downgrade.test.ts',
    'test/security/sandbox-unconfined-token.test.ts',
    'test/security/slow-request-body-app.test.ts',
    'test/security/connection-secrets-never-shown.test.ts',
    'test/security/source-connection-ssrf.test.ts',
    'test/security/source-path-glob-confinement.test.ts',
    'test/security/ssrf-alternate-ip-notation.test.ts',
    'test/security/ssrf-cloud-metadata.test.ts',
    'test/security/ssrf-dns-rebinding.test.ts',
    'test/security/ssrf-ipv4-mapped-ipv6.test.ts',
    'test/security/ssrf-private-address.test.ts',
    'test/sources/sftp-path.test.ts',
    'test/sources/azure-blob-credential.test.ts',
    'test/vault/key-hierarchy.unit.test.ts',
    'test/vault/key-vault-key-id.test.ts',
    'test/vault/root-key-cache.test.ts',
  ],
  integration: [
    'test/vault/kek-client-first-calls.test.ts',
    'test/storage/tenant-table.test.ts',
    'test/sources/azure-blob-reader.test.ts',
    'test/cmk/reconcile.test.ts',
    'test/contracts/kek-emulator.test.ts',
    'test/contracts/tables-azurite.test.ts',
    'test/flows/stores.test.ts',
    'test/hpke/replay-cache.test.ts',
    'test/hpke/rotation.test.ts',
    'test/keyvault-emulator/keyvault-emulator.test.ts',
    'test/keyvault-emulator/persistence.test.ts',
    'test/local/landing-events.test.ts',
    'test/security/cmk-foreign-key.test.ts',
    'test/security/blob-path-traversal.test.ts',
    'test/security/blob-sas-secret-redaction.test.ts',
    'test/security/cmk-unreachable-vault-lockout.test.ts',
    'test/vault/encrypted-object-store.test.ts',
    'test/vault/follow-system-kek.test.ts',
    'test/vault/kek-failures.test.ts',
    'test/vault/key-hierarchy.test.ts',
    'test/vault/large-object.test.ts',
    'test/vault/rewrap-root-keys.test.ts',
  ],
  e2e: [
    'test/functions/cloud-sources.test.ts',
    'test/functions/ingestion-large-sftp.test.ts',
    'test/api/token-cli.test.ts',
    'test/cli/cli.test.ts',
    'test/cli/cmk.test.ts',
    'test/cli/connections.test.ts', // OpenSSH sshd as a child process
    'test/cli/landing-zone.test.ts',
    'test/functions/api-conventions.test.ts',
    'test/functions/cmk.test.ts',
    'test/functions/encryption-keys.test.ts',
    'test/functions/flows.test.ts',
    'test/functions/health.test.ts',
    'test/functions/hpke-every-endpoint.test.ts',
    'test/functions/hpke.test.ts',
    'test/functions/ingestion-compression.test.ts',
    'test/functions/ingestion-large.test.ts',
    'test/functions/ingestion.test.ts',
    'test/functions/landing-zones.test.ts',
    'test/functions/sandboxes.test.ts',
    'test/functions/system-kek-rotate.test.ts',
    'test/hpke/client-package-entry.test.ts',
    'test/hpke/interop.test.ts',
    'test/hpke/node-backend.test.ts',
    'test/ingestion/decompress.test.ts',
    'test/ingestion/landing-ttl.test.ts',
    'test/ingestion/scan-source-many-files.test.ts', // OpenSSH sshd as a child process, the runtime
    'test/ingestion/source-file-changed.test.ts', // OpenSSH sshd as a child process, the runtime
    'test/local/npm-start.test.ts',
    'test/openapi/openapi.test.ts',
    'test/pgp/decrypt-stream.test.ts',
    'test/pgp/generate-key-pair.test.ts',
    'test/pgp/ocb-packet.test.ts', // the private-key worker thread, from dist/
    'test/pgp/rechunk.test.ts',
    'test/pgp/validate-signing-key.test.ts',
    'test/reliability/faults-azurite-restart.test.ts',
    'test/reliability/faults-load.test.ts',
    'test/reliability/faults-poison.test.ts',
    'test/reliability/faults-runtime-kill.test.ts',
    'test/reliability/faults-sources-cmk.test.ts', // OpenSSH sshd as a child process, the runtime
    'test/reliability/faults-sources.test.ts', // OpenSSH sshd as a child process, two runtimes
    'test/reliability/faults-two-instances.test.ts',
    'test/reliability/faults-vault-outage.test.ts',
    'test/reliability/isolation-matrix.test.ts',
    'test/runtime/http-host.test.ts',
    'test/runtime/queue-trigger.test.ts',
    'test/runtime/timer-trigger.test.ts',
    'test/security/bzip2-block-stall.test.ts',
    'test/security/cmk-system-kek-as-customer-key.test.ts',
    'test/security/compression-ratio-bomb.test.ts',
    'test/security/export-links-host-header.test.ts',
    'test/security/health-key-vault-amplification.test.ts',
    'test/security/hpke-cross-tenant-replay.test.ts',
    'test/security/hpke-export-truncation.test.ts',
    'test/security/hpke-plaintext-answer-when-required.test.ts',
    'test/security/landing-zone-blob-name-spoofing.test.ts',
    'test/security/landing-zone-explore-traversal.test.ts',
    'test/security/landing-zone-sas-internal-storage.test.ts',
    'test/security/landing-zone-sas-other-zone.test.ts',
    'test/security/landing-zone-sas-replay-after-refresh.test.ts',
    'test/security/landing-zone-sas-tampering.test.ts',
    'test/security/log-secrets.test.ts',
    'test/security/pgp-armor-trailing-message.test.ts',
    'test/security/pgp-ciphertext-tampering.test.ts',
    'test/security/pgp-compression-bomb.test.ts',
    'test/security/pgp-hostile-message-bytes.test.ts',
    'test/security/pgp-packet-bombs.test.ts', // the private-key worker thread, from dist/
    'test/security/pgp-parser-deadlock.test.ts', // the private-key worker thread, from dist/
    'test/security/pgp-random-bytes.test.ts',
    'test/security/pgp-session-key-flood.test.ts',
    'test/security/pgp-session-key-only.test.ts',
    'test/security/pgp-signature-stripping.test.ts',
    'test/security/pgp-wrong-signer.test.ts',
    'test/security/private-key-pool-saturation.test.ts',
    'test/security/request-target-forms.test.ts',
    'test/security/sandbox-typo-creates-nothing.test.ts',
    'test/security/slow-request-body.test.ts',
    'test/security/sftp-host-key-substitution.test.ts', // OpenSSH sshd as a child process
    'test/security/sftp-path-traversal.test.ts', // OpenSSH sshd as a child process
    'test/security/sftp-symlink-escape.test.ts', // OpenSSH sshd as a child process
    'test/sources/sftp-many-files.test.ts', // OpenSSH sshd as a child process
    'test/sources/sftp-reader.test.ts', // OpenSSH sshd as a child process
  ],
} as const satisfies Record<string, readonly string[]>;

export type TestTier = keyof typeof TEST_TIERS;

/** Every `*.test.ts` under `root/test`, as `test/...` paths with `/` separators. */
export function findTestFiles(root: string): string[] {
  return readdirSync(path.join(root, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => ['test', ...file.split(path.sep)].join('/'))
    .sort();
}

/**
 * Checks that each of `testFiles` is in exactly one tier and that every listed file
 * exists, so no test file silently drops out of `npm test` or runs twice.
 *
 * @throws Error `TEST_TIERS_MISMATCH`, naming each file that is in no tier, in two, or missing.
 */
export function checkTestTiers(testFiles: readonly string[]): void {
  const problems: string[] = [];
  const tiersOf = new Map<string, string[]>();
  for (const [tier, files] of Object.entries(TEST_TIERS)) {
    for (const file of files) tiersOf.set(file, [...(tiersOf.get(file) ?? []), tier]);
  }
  for (const file of testFiles) {
    const found = tiersOf.get(file) ?? [];
    if (found.length === 0) problems.push(`  in no tier: ${file}`);
    if (found.length > 1) problems.push(`  in ${found.join(' and ')}: ${file}`);
  }
  const existing = new Set(testFiles);
  for (const file of tiersOf.keys()) {
    if (!existing.has(file)) problems.push(`  listed but not found: ${file}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `TEST_TIERS_MISMATCH: each test file under test/ belongs to exactly one tier (unit, integration, e2e); ` +
        `fix the lists in test/tiers.ts:\n${problems.join('\n')}`,
    );
  }
}
