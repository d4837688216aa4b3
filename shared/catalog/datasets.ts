import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Actor, SandboxScope } from '../core/scope.js';
import { NotFoundError } from '../errors.js';
import { tenantTable, type TableCodec, type TableFactory } from '../storage/tenant-table.js';
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
  rowKey: string;
  name: string;
  description?: string;
  created: number;
  updated: number;
  createdClient: string;
  createdUser: string;
}

const codec: TableCodec<Dataset, SandboxScope, DatasetEntity, Omit<Dataset, 'imsOrg' | 'sandboxName'>> = {
  toEntity: ({ id, ...columns }) => ({ rowKey: id, ...columns }),
  fromEntity: (e, scope) => ({
    id: e.rowKey,
    name: e.name,
    ...(e.description === undefined ? {} : { description: e.description }),
    imsOrg: scope.orgId,
    sandboxName: scope.sandbox,
    created: e.created,
    updated: e.updated,
    createdClient: e.createdClient,
    createdUser: e.createdUser,
  }),
};

/** The sandbox's datasets: PartitionKey `{org}|{sandbox}`, RowKey the Catalog id. */
const datasetsOf = (deps: CatalogDeps, scope: SandboxScope) => tenantTable(deps.tables, DATASETS_TABLE, codec).in(scope);

/** Creates a dataset in the caller's org and sandbox, recording who created it. */
export async function createDataset(deps: CatalogDeps, actor: Actor, input: CreateDatasetRequest): Promise<Dataset> {
  const now = (deps.clock ?? systemClock).now();
  return datasetsOf(deps, actor).insert({
    id: randomBytes(12).toString('hex'),
    name: input.name,
    ...(input.description === undefined ? {} : { description: input.description }),
    created: now,
    updated: now,
    createdClient: actor.clientId,
    createdUser: actor.subject,
  });
}

/**
 * Reads one dataset of the caller's org and sandbox.
 * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
 */
export async function getDataset(deps: CatalogDeps, scope: SandboxScope, id: string): Promise<Dataset> {
  const dataset = CATALOG_ID_PATTERN.test(id) ? await datasetsOf(deps, scope).find(id) : undefined;
  if (dataset === undefined) throw new NotFoundError(`Dataset ${id} was not found`);
  return dataset;
}
