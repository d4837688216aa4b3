import type { Actor, SandboxScope } from '../../core/scope.js';

/** Columns every flow service entity carries: who created it and when (epoch ms, as Adobe's flow service). */
export interface AuditColumns {
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  createdClient: string;
}

/** The same, plus the tenant and the entity's etag, as every flow service resource shows them. */
export interface AuditFields {
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly createdBy: string;
  readonly createdClient: string;
  readonly imsOrgId: string;
  readonly sandboxName: string;
  readonly etag: string;
}

/** A flow service resource as written: what the scope and the table give (org, sandbox, ETag) is left out. */
export type NewResource<T extends AuditFields> = Omit<T, 'imsOrgId' | 'sandboxName' | 'etag'>;

export function auditColumns(actor: Actor, now: number): AuditColumns {
  return { createdAt: now, updatedAt: now, createdBy: actor.subject, createdClient: actor.clientId };
}

export function auditFields(scope: SandboxScope, e: AuditColumns, etag: string): AuditFields {
  return {
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    createdBy: e.createdBy,
    createdClient: e.createdClient,
    imsOrgId: scope.orgId,
    sandboxName: scope.sandbox,
    etag,
  };
}
