import { randomUUID } from 'node:crypto';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { isNotFound } from '../core/azure-errors.js';
import type { Random } from '../core/random.js';
import type { SandboxScope } from '../core/scope.js';
import { withTableLock } from '../storage/table-lock.js';
import { tableRepository, tenantTable, type Partitioning, type TableCodec, type TableFactory } from '../storage/tenant-table.js';
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

/** A zone's row: PartitionKey `{org}|{sandbox}`, RowKey {@link ZONE_TYPE}. */
interface ZoneEntity {
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
  rowKey: string;
  orgId: string;
  sandbox: string;
}

// A zone row is its own record: the store reads and writes its columns as they are.
const zoneCodec: TableCodec<ZoneEntity, SandboxScope, ZoneEntity> = {
  toEntity: (e) => ({
    rowKey: ZONE_TYPE,
    containerName: e.containerName,
    createdAt: e.createdAt,
    ...(e.ready === undefined ? {} : { ready: e.ready }),
    ...(e.policyId === undefined ? {} : { policyId: e.policyId }),
    ...(e.policyExpiresAt === undefined ? {} : { policyExpiresAt: e.policyExpiresAt }),
    ...(e.pendingPolicyId === undefined ? {} : { pendingPolicyId: e.pendingPolicyId }),
  }),
  fromEntity: (row) => zoneCodec.toEntity(row),
};

/** The zone of a sandbox (its partition of {@link LANDING_ZONES_TABLE}). */
const zoneOf = (tables: TableFactory, scope: SandboxScope) => tenantTable(tables, LANDING_ZONES_TABLE, zoneCodec).in(scope);

/** {@link LANDING_CONTAINERS_TABLE} is keyed by container: PartitionKey = its name, RowKey = ''. */
const byContainer: Partitioning<{ readonly containerName: string }> = {
  key: (c) => c.containerName,
  parse: (partitionKey) => ({ scope: { containerName: partitionKey } }),
};

const ownerCodec: TableCodec<LandingZone, { readonly containerName: string }, ContainerEntity> = {
  toEntity: (zone) => ({ rowKey: '', orgId: zone.orgId, sandbox: zone.sandbox }),
  fromEntity: (e, { containerName }) => ({ orgId: e.orgId, sandbox: e.sandbox, containerName }),
};

const zoneOwners = (tables: TableFactory) => tableRepository(() => tables(LANDING_CONTAINERS_TABLE), byContainer, ownerCodec);

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
  const zone = zoneOf(deps.tables, scope);
  const entity = (await zone.find(ZONE_TYPE)) ?? (await insertZone(deps, scope));
  if (entity.ready === true) return entity;
  // The owner is recorded before the container exists, so no file can land in an unowned zone.
  const { containerName } = entity;
  await zoneOwners(deps.tables).in({ containerName }).insertIfAbsent({ orgId: scope.orgId, sandbox: scope.sandbox, containerName });
  await deps.blobs.getContainerClient(containerName).createIfNotExists();
  if (!(await zone.merge(ZONE_TYPE, { ready: true }))) throw new Error('The landing zone row vanished while it was being created');
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
  return zoneOwners(tables).in({ containerName }).find('');
}

/** Every zone (for the TTL sweep). */
export function listLandingZones(tables: TableFactory): AsyncGenerator<LandingZone> {
  return zoneOwners(tables).scan();
}

/** The zone of a sandbox, if it has one (no zone is created). */
export async function findLandingZone(deps: Pick<LandingZoneDeps, 'tables'>, scope: SandboxScope): Promise<LandingZone | undefined> {
  const entity = await zoneOf(deps.tables, scope).find(ZONE_TYPE);
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
  await zoneOwners(deps.tables).in(zone).delete('');
  await zoneOf(deps.tables, scope).delete(ZONE_TYPE);
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
  const zoneRow = zoneOf(deps.tables, zone);
  // The lock is a row of the zone's partition that the repository does not model: it takes the raw table.
  const zones = await deps.tables(LANDING_ZONES_TABLE);
  return withTableLock(zones, zoneRow.partitionKey, REFRESH_LOCK_ROW, { leaseMs: REFRESH_LEASE_MS, waitMs: REFRESH_WAIT_MS }, async () => {
    const current = await zoneRow.find(ZONE_TYPE);
    if (current?.policyId !== undefined && current.policyExpiresAt !== undefined && !replace(current)) {
      return credential(deps, zone.containerName, current.policyId, current.policyExpiresAt);
    }
    if (current === undefined) throw new Error('The landing zone row is missing');
    const settled: ZoneEntity = { rowKey: ZONE_TYPE, containerName: current.containerName, createdAt: current.createdAt, ready: true };
    const policyId = `dlz-${randomUUID()}`;
    const startsOn = new Date(now(deps) - 5 * 60_000); // storage clocks may run a little behind
    const expiresOn = new Date(now(deps) + deps.sasDays * 86_400_000);
    await replaceZone(zoneRow, { ...settled, pendingPolicyId: policyId });
    // The only identifier on the container: setting it drops the previous one.
    await deps.blobs.getContainerClient(zone.containerName).setAccessPolicy(undefined, [
      { id: policyId, accessPolicy: { permissions: ZONE_PERMISSIONS, startsOn, expiresOn } },
    ]);
    await replaceZone(zoneRow, { ...settled, policyId, policyExpiresAt: expiresOn.getTime() });
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

async function replaceZone(zone: ReturnType<typeof zoneOf>, entity: ZoneEntity): Promise<void> {
  if ((await zone.replace(entity)) === undefined) throw new Error('The landing zone row is missing');
}

async function insertZone(deps: LandingZoneDeps, scope: SandboxScope): Promise<ZoneEntity> {
  const zone = zoneOf(deps.tables, scope);
  const created = await zone.insertIfAbsent({ rowKey: ZONE_TYPE, containerName: newContainerName(deps.random), createdAt: now(deps) });
  if (created !== undefined) return created;
  // Another first call won: its container is the zone's.
  const winner = await zone.find(ZONE_TYPE);
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

function now(deps: { readonly clock?: Clock }): number {
  return (deps.clock ?? systemClock).now();
}
