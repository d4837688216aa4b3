import type { SandboxScope } from '../core/scope.js';

/**
 * What a flow asks the key stores (`shared/pgp-keys/`) about the keys its Encryption transformation
 * names: their exported lookups, wired where the deps are built (`pgp-keys/key-deps.ts`), so the
 * flow service never reads the key stores' tables.
 */
export interface KeyCheck {
  /** True when `id` names a usable (not deleted) encryption key pair of the sandbox. */
  encryptionKeyExists(scope: SandboxScope, id: string): Promise<boolean>;
  /** True when `id` names a usable (not deleted) customer signing-verification key of the sandbox. */
  customerKeyExists(scope: SandboxScope, id: string): Promise<boolean>;
}
