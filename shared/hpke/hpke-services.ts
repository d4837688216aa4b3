import { systemClock, type Clock } from '../core/clock.js';
import type { EncryptedObjectStore } from '../storage/encrypted-object-store.js';
import type { TableFactory } from '../storage/tenant-table.js';
import { createClientKeyCache } from './client-key-cache.js';
import { CLIENT_KEYS_TABLE, type ClientKeyDeps } from './client-keys.js';
import { createOrgSettingsStore, ORG_SETTINGS_TABLE, type OrgSettingsStore } from './org-settings.js';
import { createReplayCache, REPLAY_TABLE, type ReplayCache } from './replay-cache.js';
import { createServerKeyRing, SERVER_KEYS_TABLE, type ServerKeyDeps, type ServerKeyRing } from './server-keys.js';

/** Everything the HPKE layer needs, built once per process from the app's services. */
export interface HpkeServices {
  readonly clock: Clock;
  readonly serverKeys: ServerKeyDeps;
  readonly ring: ServerKeyRing;
  readonly replay: ReplayCache;
  readonly clientKeys: ClientKeyDeps;
  readonly settings: OrgSettingsStore;
  /** `HPKE_KEY_LIFETIME_DAYS` in ms. */
  readonly lifetimeMs: number;
}

/** Builds the HPKE services over the app's tables and encrypted object store. */
export function createHpkeServices(services: { readonly tables: TableFactory; readonly objects: EncryptedObjectStore }, options: { clock?: Clock; lifetimeMs: number }): HpkeServices {
  const clock = options.clock ?? systemClock;
  const serverKeys: ServerKeyDeps = { table: () => services.tables(SERVER_KEYS_TABLE), objects: services.objects, clock };
  return {
    clock,
    serverKeys,
    ring: createServerKeyRing(serverKeys),
    replay: createReplayCache(() => services.tables(REPLAY_TABLE)),
    clientKeys: { table: () => services.tables(CLIENT_KEYS_TABLE), clock, cache: createClientKeyCache() },
    settings: createOrgSettingsStore(() => services.tables(ORG_SETTINGS_TABLE), () => clock.now()),
    lifetimeMs: options.lifetimeMs,
  };
}
