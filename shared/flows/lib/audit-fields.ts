import type { Tenant } from '../../auth/tenant.js';

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

export function auditColumns(tenant: Tenant, now: number): AuditColumns {
  return { createdAt: now, updatedAt: now, createdBy: tenant.subject, createdClient: tenant.clientId };
}

export function auditFields(tenant: Tenant, e: AuditColumns, etag: string): AuditFields {
  return {
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    createdBy: e.createdBy,
    createdClient: e.createdClient,
    imsOrgId: tenant.orgId,
    sandboxName: tenant.sandbox,
    etag,
  };
}
