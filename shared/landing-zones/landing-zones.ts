import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { withTableLock } from '../storage/table-lock.js';
import { isConflict, isNotFound, tenantPartitionKey, type TableFactory } from '../storage/tenant-table.js';
import type { Random } from '../core/random.js';
import { assertSandboxScope, type SandboxScope } from '../vault/sandbox-scope.js';
import type { LandingSasSigner } from './sas-signer.js';
import { systemClock, type Clock } from '../core/clock.js';

/** One row per zone: PartitionKey = `{org}|{sandbox}`, RowKey = the zone type. */
export const LANDING_ZONES_TABLE = 'landingzones';
/** Which org and sandbox own a zone container: PartitionKey = container name, RowKey = ''. */
export const LANDING_CONTAINERS_TABLE = 'landingcontainers';

/** Adobe's only zone type. */
export const ZONE_TYPE = 'user_drop_zone';
/** Every zone container's name starts so (the landing account's Event Grid filter matches it). */
export const ZONE_CONTAINER_PREFIX = 'dlz-';
/** Adobe's permissions on a zone: read, add, create, write, delete, list, move. */
export const ZONE_PERMISSIONS = 'racwdlm';

export interface LandingZoneDeps {
  readonly tables: TableFactory;
  /** The landing account (never the internal one). */
  readonly blobs: BlobServiceClient;
  readonly signer: LandingSasSigner;
  readonly random: Random;
  readonly clock?: Clock;
  /** `LANDING_ZONE_SAS_DAYS`: a credential's life. */
  readonly sasDays: number;
  /** `LANDING_ZONE_TTL_DAYS`: how long a file stays in a zone. */
  readonly ttlDays: number;
}

/** `GET /data/foundation/connectors/landingzone?type=user_drop_zone`, Adobe's answer. */
export interface LandingZoneView {
  readonly containerName: string;
  /** Days a file stays, as a string (Adobe's). */
  readonly containerTTL: string;
}

/** `.../landingzone/credentials`, Adobe's answer. */
export interface LandingZoneCredential {
  readonly containerName: string;
  readonly SASToken: string;
  readonly storageAccountName: string;
  readonly SASUri: string;
  /** `YYYY-MM-DD` (UTC), Adobe's. */
  readonly expiryDate: string;
}

/** A zone as stored. */
export interface LandingZone extends SandboxScope {
  readonly containerName: string;
}

interface ZoneEntity {
  partitionKey: string;
  rowKey: string;
  containerName: string;
  createdAt: number;
  /** Its owner mapping and container exist (set once, so later calls skip those steps). */
  ready?: boolean;
  /** The stored access policy every current credential names; absent until the first is issued. */
  policyId?: string;
  policyExpiresAt?: number;
  /**
   * Set while a policy is being replaced: a refresh that died between the container's ACL and this
   * row leaves it, and the next caller replaces the policy again rather than answer a credential the
   * container may no longer honour.
   */
  pendingPolicyId?: string;
}

interface ContainerEntity {
  partitionKey: string;
  rowKey: string;
  orgId: string;
  sandbox: string;
}

/**
 * The caller's zone, created on first use: a container of its own in the landing account, with a
 * generated name. Idempotent and safe when called concurrently: the first row written names the
 * container, and every later step (owner mapping, container) is create-if-absent.
 */
export async function ensureLandingZone(deps: LandingZoneDeps, scope: SandboxScope): Promise<LandingZone> {
  const entity = await ensureZoneEntity(deps, scope);
  return { orgId: scope.orgId, sandbox: scope.sandbox, containerName: entity.containerName };
}

async function ensureZoneEntity(deps: LandingZoneDeps, scope: SandboxScope): Promise<ZoneEntity> {
  const zones = await deps.tables(LANDING_ZONES_TABLE);
  const entity = (await readZone(zones, scope)) ?? (await insertZone(deps, zones, scope));
  if (entity.ready === true) return entity;
  // The owner is recorded before the container exists, so no file can land in an unowned zone.
  const owners = await deps.tables(LANDING_CONTAINERS_TABLE);
  const owner: ContainerEntity = { partitionKey: entity.containerName, rowKey: '', orgId: scope.orgId, sandbox: scope.sandbox };
  try {
    await owners.createEntity(owner);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  await deps.blobs.getContainerClient(entity.containerName).createIfNotExists();
  await zones.updateEntity({ partitionKey: entity.partitionKey, rowKey: entity.rowKey, ready: true }, 'Merge');
  return { ...entity, ready: true };
}

/** The zone's view: its container and how long files stay in it. */
export async function getLandingZone(deps: LandingZoneDeps, scope: SandboxScope): Promise<LandingZoneView> {
  const zone = await ensureLandingZone(deps, scope);
  return { containerName: zone.containerName, containerTTL: String(deps.ttlDays) };
}

/**
 * The zone's current credential: the same SAS on every call until a refresh (or until it expires,
 * when a new policy is issued as a refresh would).
 */
export async function getLandingZoneCredential(deps: LandingZoneDeps, scope: SandboxScope): Promise<LandingZoneCredential> {
  const entity = await ensureZoneEntity(deps, scope);
  const zone: LandingZone = { orgId: scope.orgId, sandbox: scope.sandbox, containerName: entity.containerName };
  const usable = (e: ZoneEntity | undefined): e is ZoneEntity & { policyId: string; policyExpiresAt: number } =>
    e?.policyId !== undefined && e.policyExpiresAt !== undefined && e.policyExpiresAt > now(deps) && e.pendingPolicyId === undefined;
  if (usable(entity)) return credential(deps, zone.containerName, entity.policyId, entity.policyExpiresAt);
  return issuePolicy(deps, zone, (current) => !usable(current));
}

/**
 * Revokes every earlier credential of the zone and answers a new one. The zone's container ACL
 * holds one stored access policy; a refresh replaces it with a new id, so every SAS naming the old
 * id is refused by storage at once (Azure may take up to 30 s to apply it). No other zone's ACL is
 * touched. Refreshes of one zone run one at a time (Set Container ACL has no If-Match), so of
 * concurrent refreshes the last one answered holds the only valid credential.
 */
export async function refreshLandingZoneCredential(deps: LandingZoneDeps, scope: SandboxScope): Promise<LandingZoneCredential> {
  return issuePolicy(deps, await ensureLandingZone(deps, scope), () => true);
}

/** The org and sandbox that own a zone container; `undefined` for a container that is no zone. */
export async function findLandingZoneOwner(tables: TableFactory, containerName: string): Promise<LandingZone | undefined> {
  if (!containerName.startsWith(ZONE_CONTAINER_PREFIX)) return undefined;
  const owners = await tables(LANDING_CONTAINERS_TABLE);
  try {
    const e = await owners.getEntity<ContainerEntity>(containerName, '');
    return { orgId: e.orgId, sandbox: e.sandbox, containerName };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Every zone (for the TTL sweep). */
export async function* listLandingZones(tables: TableFactory): AsyncGenerator<LandingZone> {
  const owners = await tables(LANDING_CONTAINERS_TABLE);
  for await (const e of owners.listEntities<ContainerEntity>()) yield { orgId: e.orgId, sandbox: e.sandbox, containerName: e.partitionKey };
}

/** The zone of a sandbox, if it has one (no zone is created). */
export async function findLandingZone(deps: Pick<LandingZoneDeps, 'tables'>, scope: SandboxScope): Promise<LandingZone | undefined> {
  const entity = await readZone(await deps.tables(LANDING_ZONES_TABLE), scope);
  return entity === undefined ? undefined : { orgId: scope.orgId, sandbox: scope.sandbox, containerName: entity.containerName };
}

/** Whether the sandbox's zone holds any file. */
export async function landingZoneHasFiles(deps: Pick<LandingZoneDeps, 'tables' | 'blobs'>, scope: SandboxScope): Promise<boolean> {
  const zone = await findLandingZone(deps, scope);
  if (zone === undefined) return false;
  const page = await firstPage(deps.blobs.getContainerClient(zone.containerName));
  return page;
}

/** Removes an empty sandbox's zone: its container (and with it every credential), its rows. */
export async function deleteLandingZone(deps: Pick<LandingZoneDeps, 'tables' | 'blobs'>, scope: SandboxScope): Promise<void> {
  const zone = await findLandingZone(deps, scope);
  if (zone === undefined) return;
  await deps.blobs.getContainerClient(zone.containerName).deleteIfExists();
  await deleteIfPresent(await deps.tables(LANDING_CONTAINERS_TABLE), zone.containerName, '');
  await deleteIfPresent(await deps.tables(LANDING_ZONES_TABLE), tenantPartitionKey(scope), ZONE_TYPE);
}

async function firstPage(container: ContainerClient): Promise<boolean> {
  try {
    for await (const page of container.listBlobsFlat().byPage({ maxPageSize: 1 })) {
      if (page.segment.blobItems.length > 0) return true;
      if (page.continuationToken === undefined || page.continuationToken === '') return false;
    }
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  return false;
}

/** How long a refresh may hold the zone's lock before another may break it. */
const REFRESH_LEASE_MS = 60_000;
const REFRESH_WAIT_MS = 30_000;
const REFRESH_LOCK_ROW = `${ZONE_TYPE}~refresh-lock`;

/**
 * Under the zone's lock, replaces its stored access policy when `replace` says so (given the row as
 * it is now, after the lock), then answers the credential naming the current policy.
 */
async function issuePolicy(
  deps: LandingZoneDeps,
  zone: LandingZone,
  replace: (current: ZoneEntity | undefined) => boolean,
): Promise<LandingZoneCredential> {
  const zones = await deps.tables(LANDING_ZONES_TABLE);
  const partitionKey = tenantPartitionKey(zone);
  return withTableLock(zones, partitionKey, REFRESH_LOCK_ROW, { leaseMs: REFRESH_LEASE_MS, waitMs: REFRESH_WAIT_MS }, async () => {
    const current = await readZone(zones, zone);
    if (current?.policyId !== undefined && current.policyExpiresAt !== undefined && !replace(current)) {
      return credential(deps, zone.containerName, current.policyId, current.policyExpiresAt);
    }
    if (current === undefined) throw new Error('The landing zone row is missing');
    const settled: ZoneEntity = { partitionKey, rowKey: ZONE_TYPE, containerName: current.containerName, createdAt: current.createdAt, ready: true };
    const policyId = `dlz-${randomUUID()}`;
    const startsOn = new Date(now(deps) - 5 * 60_000); // storage clocks may run a little behind
    const expiresOn = new Date(now(deps) + deps.sasDays * 86_400_000);
    await zones.updateEntity({ ...settled, pendingPolicyId: policyId }, 'Replace');
    // The only identifier on the container: setting it drops the previous one.
    await deps.blobs.getContainerClient(zone.containerName).setAccessPolicy(undefined, [
      { id: policyId, accessPolicy: { permissions: ZONE_PERMISSIONS, startsOn, expiresOn } },
    ]);
    await zones.updateEntity({ ...settled, policyId, policyExpiresAt: expiresOn.getTime() }, 'Replace');
    return credential(deps, zone.containerName, policyId, expiresOn.getTime());
  });
}

async function credential(deps: LandingZoneDeps, containerName: string, policyId: string, expiresAt: number): Promise<LandingZoneCredential> {
  const token = await deps.signer.sign(containerName, policyId);
  const url = deps.blobs.getContainerClient(containerName).url;
  return {
    containerName,
    SASToken: token,
    storageAccountName: deps.signer.accountName,
    SASUri: `${url}?${token}`,
    expiryDate: new Date(expiresAt).toISOString().slice(0, 10),
  };
}

async function readZone(zones: TableClient, scope: SandboxScope): Promise<ZoneEntity | undefined> {
  try {
    return await zones.getEntity<ZoneEntity>(tenantPartitionKey(scope), ZONE_TYPE);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function insertZone(deps: LandingZoneDeps, zones: TableClient, scope: SandboxScope): Promise<ZoneEntity> {
  assertSandboxScope(scope);
  const entity: ZoneEntity = {
    partitionKey: tenantPartitionKey(scope),
    rowKey: ZONE_TYPE,
    containerName: newContainerName(deps.random),
    createdAt: now(deps),
  };
  try {
    await zones.createEntity(entity);
    return entity;
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  // Another first call won: its container is the zone's.
  const winner = await readZone(zones, scope);
  if (winner === undefined) throw new Error('The landing zone row vanished while it was being created');
  return winner;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `dlz-` and 26 random base32 characters (130 bits): a container name no one can guess or choose. */
function newContainerName(random: Random): string {
  const bytes = random.bytes(26);
  let name = ZONE_CONTAINER_PREFIX;
  for (const b of bytes) name += BASE32[b & 31];
  return name;
}

async function deleteIfPresent(table: TableClient, partitionKey: string, rowKey: string): Promise<void> {
  try {
    await table.deleteEntity(partitionKey, rowKey);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function now(deps: { readonly clock?: Clock }): number {
  return (deps.clock ?? systemClock).now();
}
