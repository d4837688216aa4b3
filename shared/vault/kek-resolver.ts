import type { KekRef } from './key-vault-key-id.js';

/**
 * Names the KEK that wraps an org's NEW root keys. The system KEK by default; the CMK feature
 * plugs in the org's customer key. Existing root keys keep the KEK recorded beside them until
 * re-wrapped.
 */
export type KekResolver = (orgId: string) => Promise<KekRef>;
