import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
// Resolved through package.json `exports` (its `types` condition), as a customer's compiler does.
import type * as Client from 'cipherflow/hpke/client';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/runtime-process.js';

const run = promisify(execFile);

/** What a customer's code uses (typed against the package entry, so a moved client fails to compile). */
const CUSTOMER_API: (keyof typeof Client)[] = ['createHpkeFetch', 'decryptResponse', 'decryptResponseStream', 'encryptRequest', 'generateClientKeyPair', 'HpkeClientError', 'HPKE_MEDIA_TYPE', 'HPKE_CHUNKED_MEDIA_TYPE', 'FORMAT_VERSION'];

/** Imports `specifier` in a fresh Node process from the repository (a package may import itself by name). */
async function importInNode(specifier: string): Promise<string[]> {
  const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot });
  return JSON.parse(stdout) as string[];
}

describe('the client module as a customer imports it (built by npm test)', () => {
  it('resolves cipherflow/hpke/client to the built client', async () => {
    expect(await importInNode('cipherflow/hpke/client')).toEqual(expect.arrayContaining(CUSTOMER_API));
  });

  it('resolves every cipherflow/... import the README shows', async () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const specifiers = [...readme.matchAll(/from '(cipherflow\/[^']+)'/g)].map((m) => m[1] ?? '');
    expect(specifiers.length).toBeGreaterThan(0);
    for (const specifier of new Set(specifiers)) expect((await importInNode(specifier)).length, specifier).toBeGreaterThan(0);
  });

  it('keeps the rest of the package private: a deep import is refused', async () => {
    await expect(importInNode('cipherflow/shared/hpke/client.js')).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
