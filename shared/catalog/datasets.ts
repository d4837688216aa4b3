import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Tenant } from '../auth/tenant.js';
import { NotFoundError } from '../errors.js';
import { findTenantEntity, tenantPartitionKey, type TableFactory } from '../storage/tenant-table.js';
import { systemClock, type Clock } from '../core/clock.js';

export const DATASETS_TABLE = 'datasets';

/** Catalog ids look like Adobe's: 24 lowercase hex characters. */
export const CATALOG_ID_PATTERN = /^[0-9a-f]{24}$/;

/** `POST /data/foundation/catalog/dataSets` body: the subset of Catalog's dataset that ingestion needs. */
export const CreateDatasetRequest = z.strictObject({
  name: z.string().trim().min(1).max(256),
  description: z.string().max(4096).optional(),
});
export type CreateDatasetRequest = z.output<typeof CreateDatasetRequest>;

/** A dataset as Catalog returns it (times in epoch milliseconds, as Adobe's Catalog does). */
export interface Dataset {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly imsOrg: string;
  readonly sandboxName: string;
  readonly created: number;
  readonly updated: number;
  readonly createdClient: string;
  readonly createdUser: string;
}

export interface CatalogDeps {
  readonly tables: TableFactory;
  readonly clock?: Clock;
}

interface DatasetEntity {
  partitionKey: string;
  rowKey: string;
  name: string;
  description?: string;
  created: number;
  updated: number;
  createdClient: string;
  createdUser: string;
}

/** Creates a dataset in the caller's org and sandbox. */
export async function createDataset(deps: CatalogDeps, tenant: Tenant, input: CreateDatasetRequest): Promise<Dataset> {
  const table = await deps.tables(DATASETS_TABLE);
  const now = (deps.clock ?? systemClock).now();
  const entity: DatasetEntity = {
    partitionKey: tenantPartitionKey(tenant),
    rowKey: randomBytes(12).toString('hex'),
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    created: now,
    updated: now,
    createdClient: tenant.clientId,
    createdUser: tenant.subject,
  };
  await table.createEntity(entity);
  return toDataset(tenant, entity);
}

/**
 * Reads one dataset of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getDataset(deps: CatalogDeps, tenant: Tenant, id: string): Promise<Dataset> {
  if (!CATALOG_ID_PATTERN.test(id)) throw new NotFoundError(`Dataset ${id} was not found`);
  const entity = await findTenantEntity<DatasetEntity>(deps.tables, DATASETS_TABLE, tenant, id);
  if (entity === undefined) throw new NotFoundError(`Dataset ${id} was not found`);
  return toDataset(tenant, entity);
}

function toDataset(tenant: Tenant, e: DatasetEntity): Dataset {
  return {
    id: e.rowKey,
    name: e.name,
    ...(e.description === undefined ? {} : { description: e.description }),
    imsOrg: tenant.orgId,
    sandboxName: tenant.sandbox,
    created: e.created,
    updated: e.updated,
    createdClient: e.createdClient,
    createdUser: e.createdUser,
  };
}
