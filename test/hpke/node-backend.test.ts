import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../local/runtime-process.js';

// The backend's bytes against the library's reference: node-backend-reference.test.ts. This check
// needs a node of its own (a 1 MiB young generation), so it runs the build in a child process.
describe('node:crypto X25519 backend', () => {
  it('generates key pairs, seals and serializes under constant garbage collection without hanging (Node JWK-export deadlock)', async () => {
    // Node's JWK export of a key from generateKeyPairSync holds the key's lock while allocating;
    // a collection that frees the finished key generation job then takes the same lock. With a
    // 1 MiB young generation the old backend hung here within a few thousand key pairs.
    const script = `
      const { cipherSuite } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'shared', 'hpke', 'cipher-suite.js'))});
      const { DEFAULT_SUITE } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'shared', 'hpke', 'suites.js'))});
      const suite = cipherSuite(DEFAULT_SUITE);
      const recipient = await suite.kem.generateKeyPair();
      for (let i = 0; i < 20000; i++) {
        const pair = await suite.kem.generateKeyPair();
        await suite.kem.serializePublicKey(pair.publicKey);
        if (i % 100 === 0) await suite.kem.serializePrivateKey(pair.privateKey);
        if (i % 10 === 0) await suite.seal({ recipientPublicKey: recipient.publicKey }, new Uint8Array(16));
      }
      process.stdout.write('done');
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], { timeout: 170_000 });
    expect(stdout).toBe('done');
  }, 180_000);
});
