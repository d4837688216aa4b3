import type { TableClient } from '@azure/data-tables';
import type { Clock } from '../core/clock.js';
import type { KekClient } from '../vault/kek-client.js';
import { sameKey, type KekRef, type VersionedKeyVaultKeyId } from '../vault/key-vault-key-id.js';
import type { Random } from '../core/random.js';
import { rewrapRootKeys } from '../vault/rewrap-root-keys.js';
import type { SandboxScope } from '../core/scope.js';
import { allConfigs, BYOK_CONFIGS_TABLE, listOrgConfigs, replaceConfig, type ByokConfigRecord } from './config-record.js';
import type { CmkFailure, ConfigEvent, ConfigStatus, ConfigTransition } from './config-status.js';
import { notOwnedFailure, settleProof, type OwnerProof, type OwnershipPolicy } from './key-ownership.js';
import { ORG_KEYS_TABLE, readOrgKeyState, writeOrgKeyState, type OrgKeyAccess, type OrgKeyState } from './org-key-state.js';
import { fromVaultError, readOwnership, validateCmkKey, type KeyReader } from './validate-cmk-key.js';

export interface ReconcileDeps {
  /** Table factory (`cmkconfigs`, `cmkorgs`). */
  readonly tables: (name: string) => Promise<TableClient>;
  /** The `rootkeys` table of the key hierarchy. */
  readonly rootKeys: TableClient;
  /** The raw KEK client (vault round trips; refusals keep their KEK_* codes). */
  readonly vault: KekClient;
  readonly readKey: KeyReader;
  readonly clock: Clock;
  readonly random: Random;
  /** Whose keys count as the org's (tag `cipherflow-org`, never an operator vault) and the grace of configs without proof. */
  readonly ownership: OwnershipPolicy;
  /**
   * `CMK_UNREACHABLE_GIVE_UP_MINUTES`: a RUNNING config whose vault has not answered for this long
   * (by `clock`, since it entered RUNNING) ends FAILED KEY_VAULT_UNREACHABLE.
   */
  readonly unreachableGiveUpMinutes: number;
  /** Structured log of transitions; never given key material. */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  /** Ingests an org's waiting files again; called each cycle while the org's key is usable. */
  readonly resumeWaitingFiles?: (orgId: string) => Promise<void>;
  /** Called after each sandbox is settled by a re-wrap, before its checkpoint is written (tests revoke here). */
  readonly onSandboxSettled?: (scope: SandboxScope) => void | Promise<void>;
}

/** What one cycle did, for the log. */
export interface ReconcileSummary {
  readonly configs: number;
  readonly transitions: number;
}

// Keeps the history (stored in one Table property, 64 KiB) bounded even for a flapping vault.
const MAX_HISTORY = 100;

/** A concurrent reconciler changed the config first: this one stops, that one carries on. */
class LostRace extends Error {
  override readonly name = 'LostRace';
}

/**
 * One cycle of the CMK reconciler, durable-style: every step of every config is a conditional
 * write (If-Match on its ETag), so two reconcilers never both advance a config, and a crash
 * anywhere resumes from the last written state on the next cycle.
 *
 * - `NEW` → `RUNNING` → validates the key with our identity ({@link validateCmkKey}), proof of
 *   ownership first; a refusal → `FAILED` with its code; an unreachable vault leaves it `RUNNING`
 *   for the next cycle, until `unreachableGiveUpMinutes` have passed since it entered RUNNING:
 *   then `FAILED` KEY_VAULT_UNREACHABLE (the org's key state does not name it yet, so nothing moved).
 * - → `UPDATE_EXISTING_RESOURCES`: the org's key state names the customer key (new sandboxes get it
 *   from now on), then every sandbox root key of the org is re-wrapped under the key's version of
 *   that moment, checkpointed per sandbox; a record is always wholly old or wholly new and one
 *   already under that exact version is skipped without a vault call, so a resumed run re-wraps
 *   nothing twice. A final pass from the start catches sandboxes created during the scan. A
 *   refusal here never leads to `FAILED` (the org is already half moved): the config stays with
 *   the reason in `failure`, a refusal by the customer key closes the org as a revocation does,
 *   and each cycle retries until the move completes.
 * - Proof of ownership (tag `cipherflow-org` = the org id) is read again on every cycle of a config
 *   in effect: lost after it was seen → CMK_KEY_NOT_OWNED at once, as a revocation; never seen (a
 *   config that took effect before it was required) → the grace period of the policy, then
 *   CMK_KEY_NOT_OWNED. In `COMPLETED` that is `KEY_ACCESS_REVOKED` (data fails closed, files wait).
 * - → `COMPLETED`, then watched each cycle: a new key version is followed (re-wrap), a refusal
 *   (403/404/disabled/deleted/expired) marks the org `KEY_ACCESS_REVOKED` (data fails closed), an
 *   unreachable vault `KEY_VAULT_UNREACHABLE` (cached keys keep serving); access back → `COMPLETED`
 *   and the org's waiting files are ingested.
 *
 * Never throws for one config's problem; each is logged and retried next cycle.
 */
export async function reconcileByokConfigs(deps: ReconcileDeps, options: { readonly signal?: AbortSignal } = {}): Promise<ReconcileSummary> {
  const table = await deps.tables(BYOK_CONFIGS_TABLE);
  const orgs = await deps.tables(ORG_KEYS_TABLE);
  let configs = 0;
  let transitions = 0;
  const records: ByokConfigRecord[] = [];
  for await (const record of allConfigs(table)) records.push(record);
  for (const record of records) {
    options.signal?.throwIfAborted();
    configs += 1;
    try {
      transitions += await advance({ ...deps, table, orgs }, record);
    } catch (err) {
      if (err instanceof LostRace) continue;
      deps.log?.('cmk-reconcile-error', { orgId: record.orgId, config: record.name, status: record.status, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { configs, transitions };
}

interface Ctx extends ReconcileDeps {
  readonly table: TableClient;
  readonly orgs: TableClient;
}

async function advance(ctx: Ctx, initial: ByokConfigRecord): Promise<number> {
  let r = initial;
  let moved = 0;
  for (;;) {
    const before = r.status;
    switch (r.status) {
      case 'NEW':
        r = await transition(ctx, r, 'RUNNING');
        break;
      case 'RUNNING':
        r = await validate(ctx, r);
        break;
      case 'UPDATE_EXISTING_RESOURCES':
        r = await updateExistingResources(ctx, r);
        break;
      case 'COMPLETED':
      case 'KEY_ACCESS_REVOKED':
      case 'KEY_VAULT_UNREACHABLE':
        return moved + (await watch(ctx, r));
      case 'FAILED':
        return moved;
    }
    if (r.status === before) return moved;
    moved += 1;
  }
}

async function validate(ctx: Ctx, r: ByokConfigRecord): Promise<ByokConfigRecord> {
  const check = await validateCmkKey(ctx, { vaultUrl: r.keyVaultUrl, name: r.keyName }, { orgId: r.orgId, policy: ctx.ownership, require: true });
  switch (check.kind) {
    case 'unreachable':
      ctx.log?.('cmk-key-unreachable', { orgId: r.orgId, config: r.name, status: r.status });
      return giveUpIfLongUnreachable(ctx, r);
    case 'refused':
      return transition(ctx, r, 'FAILED', { failure: check.failure });
    case 'valid':
      return transition(ctx, r, 'UPDATE_EXISTING_RESOURCES', { activeVersion: check.version, checkpoint: undefined, rewrapped: 0, ownerProof: 'VERIFIED' });
  }
}

/**
 * A vault that never answers must not hold the org hostage: once it has been unreachable for
 * `unreachableGiveUpMinutes` since the config entered RUNNING, the config ends FAILED and the org
 * can send another. Only while the org's key state does not name this config: from then on its
 * root keys may be under the key, and FAILED would strand them.
 */
async function giveUpIfLongUnreachable(ctx: Ctx, r: ByokConfigRecord): Promise<ByokConfigRecord> {
  const since = Date.parse(enteredAt(r, 'RUNNING'));
  if (ctx.clock.now() - since < ctx.unreachableGiveUpMinutes * 60_000) return r;
  if ((await readOrgKeyState(ctx.orgs, r.orgId))?.configName === r.name) return r;
  return transition(ctx, r, 'FAILED', {
    failure: {
      code: 'KEY_VAULT_UNREACHABLE',
      message: `The key vault did not answer for ${ctx.unreachableGiveUpMinutes} minutes; check the key identifier and the vault's network access, then send a new configuration`,
    },
  });
}

/** When the config last entered `status` (its history), or its last update when the history no longer says. */
function enteredAt(r: ByokConfigRecord, status: ConfigStatus): string {
  return r.history.findLast((h) => h.status === status && h.event === undefined)?.at ?? r.updatedAt;
}

async function updateExistingResources(ctx: Ctx, initial: ByokConfigRecord): Promise<ByokConfigRecord> {
  let r = initial;
  const version = r.activeVersion;
  if (version === undefined) return transition(ctx, r, 'RUNNING');
  const org = await readOrgKeyState(ctx.orgs, r.orgId);
  const proof = await readOwnership(ctx, { vaultUrl: r.keyVaultUrl, name: r.keyName }, r.orgId, ctx.ownership);
  if (proof !== 'unknown') {
    const settled = await settleOwnership(ctx, r, proof === 'owned');
    r = settled.record;
    if (settled.enforce) {
      const failure = notOwnedFailure(ctx.ownership, r.keyVaultUrl, r.orgId);
      // Not named by the org yet: no root key moved, so the config can still simply fail.
      if (org?.configName !== r.name) return transition(ctx, r, 'FAILED', { failure });
      return rewrapRefused(ctx, r, failure, undefined);
    }
  }
  // From here on the org's new sandboxes are created under the customer key. Once the org names
  // this config its access flag is left as it is (a refusal below may have closed it) until the
  // move completes.
  if (org?.configName !== r.name) await ensureOrgState(ctx, r, 'GRANTED');
  const to: VersionedKeyVaultKeyId = { vaultUrl: r.keyVaultUrl, name: r.keyName, version };
  const vault = recordingRefusals(ctx.vault);
  try {
    await rewrapRootKeys(
      { tables: ctx.rootKeys, vault: vault.client, clock: ctx.clock },
      {
        orgId: r.orgId,
        to,
        ...(r.checkpoint === undefined ? {} : { after: { orgId: r.orgId, sandbox: r.checkpoint } }),
        onProgress: async (scope) => {
          await ctx.onSandboxSettled?.(scope);
          ctx.log?.('cmk-sandbox-rewrapped', { orgId: r.orgId, config: r.name, sandbox: scope.sandbox });
          const next = await replaceConfig(ctx.table, r, { ...r, checkpoint: scope.sandbox, rewrapped: r.rewrapped + 1, updatedAt: isoNow(ctx) });
          if (next === undefined) throw new LostRace();
          r = next;
        },
      },
    );
    // Sandboxes created while the scan ran, before they could see the customer key.
    await rewrapRootKeys({ tables: ctx.rootKeys, vault: vault.client, clock: ctx.clock }, { orgId: r.orgId, to });
  } catch (err) {
    if (err instanceof LostRace) throw err;
    const check = fromVaultError(err);
    if (check.kind === 'refused') return rewrapRefused(ctx, r, check.failure, vault.failedKek());
    ctx.log?.('cmk-rewrap-interrupted', { orgId: r.orgId, config: r.name, error: err instanceof Error ? err.message : String(err) });
    return r;
  }
  await ensureOrgState(ctx, r, 'GRANTED');
  return transition(ctx, r, 'COMPLETED', { checkpoint: undefined, failure: undefined });
}

/**
 * A re-wrap was refused midway: the org already names this config, so its root keys are split
 * between the old KEK and this one and going back is not an option (FAILED would strand the org).
 * The config stays in UPDATE_EXISTING_RESOURCES with the reason recorded, and every cycle retries
 * from its checkpoint, so restoring access completes the move. A refusal by this config's key
 * closes the org like a revocation after COMPLETED (data fails closed, files wait); a refusal by
 * the key the root keys move from is reported as that key's, never as the customer's new key.
 */
async function rewrapRefused(ctx: Ctx, r: ByokConfigRecord, refusal: CmkFailure, failedKek: KekRef | undefined): Promise<ByokConfigRecord> {
  const byThisKey = failedKek === undefined || sameKey(failedKek, { vaultUrl: r.keyVaultUrl, name: r.keyName });
  let failure = refusal;
  if (byThisKey) {
    await ensureOrgState(ctx, r, 'KEY_ACCESS_REVOKED', failure);
  } else {
    const previous = (await listOrgConfigs(ctx.table, r.orgId)).some((c) => c.name !== r.name && sameKey(failedKek, { vaultUrl: c.keyVaultUrl, name: c.keyName }));
    failure = previous
      ? { code: 'PREVIOUS_KEY_REFUSED', message: `The org's previous customer key ${failedKek.name} refused to unwrap a root key (${refusal.code}); restore cipherflow's access to it to complete the move` }
      : { code: 'SYSTEM_KEY_REFUSED', message: "cipherflow's system key refused to unwrap a root key; this is on cipherflow's side and is retried every cycle" };
  }
  ctx.log?.('cmk-rewrap-refused', { orgId: r.orgId, config: r.name, code: failure.code, byThisKey });
  if (r.failure?.code === failure.code) return r;
  const at = isoNow(ctx);
  const next = await replaceConfig(ctx.table, r, {
    ...r,
    failure,
    updatedAt: at,
    history: bounded([...r.history, { status: r.status, at, code: failure.code, event: 'REWRAP_REFUSED' }]),
  });
  if (next === undefined) throw new LostRace();
  return next;
}

/** A KEK client that remembers which KEK refused last, so a refusal is pinned on the right key. */
function recordingRefusals(vault: KekClient): { readonly client: KekClient; failedKek(): KekRef | undefined } {
  let failed: KekRef | undefined;
  const noting = async <T>(kek: KekRef, call: Promise<T>): Promise<T> => {
    try {
      return await call;
    } catch (err) {
      failed = kek;
      throw err;
    }
  };
  return {
    client: {
      wrapKey: (kek, key) => noting(kek, vault.wrapKey(kek, key)),
      unwrapKey: (kek, wrappedKey) => noting(kek, vault.unwrapKey(kek, wrappedKey)),
    },
    failedKek: () => failed,
  };
}

async function watch(ctx: Ctx, initial: ByokConfigRecord): Promise<number> {
  let r = initial;
  const org = await readOrgKeyState(ctx.orgs, r.orgId);
  // A later config moved the org to another key: this one is history.
  if (org !== undefined && org.configName !== r.name) return 0;
  const check = await validateCmkKey(ctx, { vaultUrl: r.keyVaultUrl, name: r.keyName }, { orgId: r.orgId, policy: ctx.ownership, require: false }, { roundTrip: false });
  if (check.kind === 'refused') return revoke(ctx, r, check.failure);
  if (check.kind === 'unreachable') {
    // Unreachable proves nothing about access: a revoked org stays revoked until the key answers.
    if (r.status !== 'COMPLETED') return 0;
    await ensureOrgState(ctx, r, 'KEY_VAULT_UNREACHABLE');
    await transition(ctx, r, 'KEY_VAULT_UNREACHABLE', { failure: { code: 'KEY_VAULT_UNREACHABLE', message: 'The key vault did not answer; cached keys serve for KEY_CACHE_MAX_STALE_SECONDS' } });
    return 1;
  }
  let moved = 0;
  const proof = await settleOwnership(ctx, r, check.owned);
  r = proof.record;
  moved += proof.moved;
  if (proof.enforce) return moved + (await revoke(ctx, r, notOwnedFailure(ctx.ownership, r.keyVaultUrl, r.orgId)));
  if (check.version !== r.activeVersion) {
    // The customer rotated the key: every sandbox follows the new version (root keys only).
    const to: VersionedKeyVaultKeyId = { vaultUrl: r.keyVaultUrl, name: r.keyName, version: check.version };
    await rewrapRootKeys({ tables: ctx.rootKeys, vault: ctx.vault, clock: ctx.clock }, { orgId: r.orgId, to });
    const at = isoNow(ctx);
    const next = await replaceConfig(ctx.table, r, {
      ...r,
      activeVersion: check.version,
      updatedAt: at,
      history: bounded([...r.history, { status: r.status, at, event: 'KEY_ROTATED', keyVersion: check.version }]),
    });
    if (next === undefined) throw new LostRace();
    r = next;
    ctx.log?.('cmk-key-rotated', { orgId: r.orgId, config: r.name, keyVersion: check.version });
    moved += 1;
  }
  await ensureOrgState(ctx, r, 'GRANTED');
  if (r.status !== 'COMPLETED') {
    r = await transition(ctx, r, 'COMPLETED', { failure: undefined });
    ctx.log?.('cmk-access-restored', { orgId: r.orgId, config: r.name });
    moved += 1;
  }
  await ctx.resumeWaitingFiles?.(r.orgId);
  return moved;
}

/** Closes the org (data fails closed, files wait) and marks the config KEY_ACCESS_REVOKED with the reason. */
async function revoke(ctx: Ctx, r: ByokConfigRecord, failure: CmkFailure): Promise<number> {
  await ensureOrgState(ctx, r, 'KEY_ACCESS_REVOKED', failure);
  if (r.status === 'KEY_ACCESS_REVOKED' && r.failure?.code === failure.code) return 0;
  await transition(ctx, r, 'KEY_ACCESS_REVOKED', { failure });
  ctx.log?.('cmk-access-revoked', { orgId: r.orgId, config: r.name, code: failure.code });
  return 1;
}

/**
 * Records what this cycle saw of the key's proof of ownership on a config in effect (see
 * {@link settleProof}), with a history event when a grace period starts or a config without proof
 * gets it. @returns the record, whether to enforce (fail with CMK_KEY_NOT_OWNED), and the events written.
 */
async function settleOwnership(ctx: Ctx, r: ByokConfigRecord, owned: boolean): Promise<{ record: ByokConfigRecord; enforce: boolean; moved: number }> {
  const settled = settleProof(ctx.ownership, r, owned, ctx.clock.now());
  if (settled.ownerProof === r.ownerProof && settled.unprovenSince === r.unprovenSince) return { record: r, enforce: settled.enforce, moved: 0 };
  const at = isoNow(ctx);
  let event: ConfigEvent | undefined;
  if (r.ownerProof === undefined && settled.unprovenSince !== undefined) event = 'OWNERSHIP_UNPROVEN';
  else if (r.ownerProof === undefined && settled.ownerProof === 'VERIFIED') event = 'OWNERSHIP_VERIFIED';
  const { ownerProof: _p, unprovenSince: _u, etag: _e, ...rest } = r;
  const next = await replaceConfig(ctx.table, r, {
    ...rest,
    ...(settled.ownerProof === undefined ? {} : { ownerProof: settled.ownerProof }),
    ...(settled.unprovenSince === undefined ? {} : { unprovenSince: settled.unprovenSince }),
    updatedAt: at,
    history: event === undefined ? r.history : bounded([...r.history, { status: r.status, at, event }]),
  });
  if (next === undefined) throw new LostRace();
  ctx.log?.('cmk-ownership', { orgId: r.orgId, config: r.name, proof: settled.ownerProof ?? 'NONE', enforce: settled.enforce });
  return { record: next, enforce: settled.enforce, moved: event === undefined ? 0 : 1 };
}

async function ensureOrgState(ctx: Ctx, r: ByokConfigRecord, access: OrgKeyAccess, failure?: CmkFailure): Promise<void> {
  const current = await readOrgKeyState(ctx.orgs, r.orgId);
  const wanted: OrgKeyState = {
    orgId: r.orgId,
    configName: r.name,
    keyVaultUrl: r.keyVaultUrl,
    keyName: r.keyName,
    access,
    ...(failure === undefined ? {} : { reason: failure.code }),
    updatedAt: isoNow(ctx),
  };
  if (
    current !== undefined &&
    current.configName === wanted.configName &&
    current.keyVaultUrl === wanted.keyVaultUrl &&
    current.keyName === wanted.keyName &&
    current.access === wanted.access &&
    current.reason === wanted.reason
  ) {
    return;
  }
  await writeOrgKeyState(ctx.orgs, wanted);
}

interface TransitionChanges {
  readonly failure?: CmkFailure | undefined;
  readonly activeVersion?: string;
  readonly ownerProof?: OwnerProof;
  readonly checkpoint?: string | undefined;
  readonly rewrapped?: number;
}

/** Moves a config to `status` with a conditional write. @throws LostRace when another writer moved it first. */
async function transition(ctx: Ctx, r: ByokConfigRecord, status: ConfigStatus, changes: TransitionChanges = {}): Promise<ByokConfigRecord> {
  const at = isoNow(ctx);
  const failure = 'failure' in changes ? changes.failure : status === 'FAILED' || status === 'KEY_ACCESS_REVOKED' ? r.failure : undefined;
  const checkpoint = 'checkpoint' in changes ? changes.checkpoint : r.checkpoint;
  const entry: ConfigTransition = { status, at, ...(failure === undefined ? {} : { code: failure.code }) };
  const { failure: _f, checkpoint: _c, etag: _e, ...rest } = r;
  const next = await replaceConfig(ctx.table, r, {
    ...rest,
    status,
    ...(changes.activeVersion === undefined ? {} : { activeVersion: changes.activeVersion }),
    ...(changes.rewrapped === undefined ? {} : { rewrapped: changes.rewrapped }),
    ...(changes.ownerProof === undefined ? {} : { ownerProof: changes.ownerProof }),
    ...(failure === undefined ? {} : { failure }),
    ...(checkpoint === undefined ? {} : { checkpoint }),
    history: bounded([...r.history, entry]),
    updatedAt: at,
  });
  if (next === undefined) throw new LostRace();
  ctx.log?.('cmk-config-transition', { orgId: r.orgId, config: r.name, from: r.status, to: status, ...(failure === undefined ? {} : { code: failure.code }) });
  return next;
}

function bounded(history: readonly ConfigTransition[]): ConfigTransition[] {
  return history.slice(-MAX_HISTORY);
}

function isoNow(ctx: { readonly clock: Clock }): string {
  return new Date(ctx.clock.now()).toISOString();
}
