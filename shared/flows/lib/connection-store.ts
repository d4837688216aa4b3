import type { Actor, SandboxScope } from '../../core/scope.js';
import { NotFoundError } from '../../errors.js';
import { tenantTable, type StoredRow, type TableCodec } from '../../storage/tenant-table.js';
import { isFlowServiceId, newFlowServiceId } from '../flow-service-id.js';
import { nowMs, type FlowServiceDeps } from '../flow-service-deps.js';
import type { SpecReference } from '../spec-reference.js';
import { auditColumns, auditFields, type AuditColumns, type AuditFields } from './audit-fields.js';

/** What source and target connections share, as shown, before their own fields. */
export interface ConnectionHead {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly baseConnectionId?: string;
  readonly connectionSpec?: SpecReference;
}

/** What source and target connections share, as shown. */
export interface Connection extends ConnectionHead, AuditFields {}

/** What both kinds of connection request share. */
export interface ConnectionRequest {
  readonly name: string;
  readonly description?: string | undefined;
  readonly baseConnectionId?: string | undefined;
  readonly connectionSpec?: SpecReference | undefined;
}

/** The columns both connection tables share (PartitionKey `{org}|{sandbox}`, RowKey the id). */
export interface ConnectionColumns extends AuditColumns {
  rowKey: string;
  name: string;
  description?: string;
  baseConnectionId?: string;
  connectionSpecId?: string;
  connectionSpecVersion?: string;
}

/** One kind of connection: its table and what it adds to the shared columns and fields. */
export interface ConnectionKind<C extends Connection, I extends ConnectionRequest, Own extends object> {
  readonly table: string;
  /** What it is called in a NOT_FOUND detail: `source connection`. */
  readonly what: string;
  /** Its own columns, from a request. */
  columns(input: I): Own;
  /** The connection as shown: the shared head, its own fields (from its columns), then the audit fields. */
  view(head: ConnectionHead, columns: StoredRow<ConnectionColumns & Own>, audit: AuditFields): C;
}

/** The store of one kind of connection: a connection is created once and never changes. */
export interface ConnectionStore<C extends Connection, I extends ConnectionRequest> {
  /** Creates a connection in the actor's org and sandbox. */
  create(deps: FlowServiceDeps, actor: Actor, input: I): Promise<C>;
  /**
   * Reads one connection of the org and sandbox.
   * @throws NOT_FOUND when it does not exist there (whether or not it exists in another tenant).
   */
  get(deps: FlowServiceDeps, scope: SandboxScope, id: string): Promise<C>;
}

/** The one implementation of the source and target connection stores. */
export function connectionStore<C extends Connection, I extends ConnectionRequest, Own extends object>(
  kind: ConnectionKind<C, I, Own>,
): ConnectionStore<C, I> {
  type Columns = ConnectionColumns & Own;
  // Rows are written whole from a request (`columns` below) and never updated, so a write is its row.
  const codec: TableCodec<C, SandboxScope, Columns, Columns> = {
    toEntity: (row) => row,
    fromEntity: (e, scope) =>
      kind.view(
        {
          id: e.rowKey,
          name: e.name,
          ...(e.description === undefined ? {} : { description: e.description }),
          ...(e.baseConnectionId === undefined ? {} : { baseConnectionId: e.baseConnectionId }),
          ...(e.connectionSpecId === undefined || e.connectionSpecVersion === undefined
            ? {}
            : { connectionSpec: { id: e.connectionSpecId, version: e.connectionSpecVersion } }),
        },
        e,
        auditFields(scope, e, e.etag),
      ),
  };
  const connectionsOf = (deps: FlowServiceDeps, scope: SandboxScope) => tenantTable(deps.tables, kind.table, codec).in(scope);
  return {
    async create(deps, actor, input) {
      const shared: ConnectionColumns = {
        rowKey: newFlowServiceId(),
        name: input.name,
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.baseConnectionId === undefined ? {} : { baseConnectionId: input.baseConnectionId }),
        ...(input.connectionSpec === undefined
          ? {}
          : { connectionSpecId: input.connectionSpec.id, connectionSpecVersion: input.connectionSpec.version }),
        ...auditColumns(actor, nowMs(deps)),
      };
      return connectionsOf(deps, actor).insert({ ...shared, ...kind.columns(input) });
    },
    async get(deps, scope, id) {
      const notFound = () => new NotFoundError(`The ${kind.what} was not found`);
      if (!isFlowServiceId(id)) throw notFound();
      const connection = await connectionsOf(deps, scope).find(id);
      if (connection === undefined) throw notFound();
      return connection;
    },
  };
}
