import type { AuditColumns } from './audit-fields.js';

export const FLOWS_TABLE = 'flows';

/** `enabled` flows pick up new files; `deleted` ones stay readable (with their runs) but match nothing. */
export type FlowState = 'enabled' | 'deleted';

/**
 * One flow row. Besides the request as given (JSON columns), it carries the source path, format,
 * target dataset and Encryption key ids copied from the connections at creation, so that finding
 * the flows for a landed blob is one partition query with no joins. Connections cannot change
 * after creation, so the copies cannot go stale.
 */
export interface FlowEntity extends AuditColumns {
  rowKey: string;
  name: string;
  description?: string;
  flowSpec?: string;
  sourceConnectionIds: string;
  targetConnectionIds: string;
  transformations: string;
  scheduleParams?: string;
  state: FlowState;
  sourceConnectionId: string;
  sourcePath: string;
  sourceFormat: string;
  sourceCompressionType?: string;
  /** A flow reading a customer's storage: its base connection, and whether subfolders are read. */
  baseConnectionId?: string;
  sourceRecursive?: boolean;
  targetConnectionId: string;
  dataSetId: string;
  publicKeyId: string;
  signVerificationKeyId?: string;
}
