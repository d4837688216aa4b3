/** Sandboxes as resources: every other operation works in the one `x-sandbox-name` names. */
import { z } from 'zod';
import { maySeeSandbox } from '../../auth/tenant.js';
import type { AppServices } from '../../app/services.js';
import { ForbiddenSandboxError } from '../../errors.js';
import { defineOperation } from '../../http/operation.js';
import {
  CreateSandboxRequest,
  createSandbox,
  deleteSandbox,
  getSandbox,
  listSandboxes,
  MAX_SANDBOXES_PER_ORG,
} from '../../sandboxes/sandboxes.js';
import * as R from '../openapi/response-schemas.js';

const SANDBOXES = 'data/foundation/sandbox-management/sandboxes';

/** Sandboxes per page when `limit` is absent. */
export const DEFAULT_SANDBOX_PAGE = 50;

const count = (max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, 'Must be a whole number')
    .transform(Number)
    .refine((n) => n <= max, `Must be at most ${max}`);

/** `GET /data/foundation/sandbox-management/sandboxes?limit=&offset=`, Adobe's paging parameters. */
export const SandboxListQuery = z.object({
  limit: count(MAX_SANDBOXES_PER_ORG)
    .refine((n) => n >= 1, 'Must be at least 1')
    .optional()
    .describe(`Sandboxes per page (default ${DEFAULT_SANDBOX_PAGE})`),
  offset: count(MAX_SANDBOXES_PER_ORG).optional().describe('Sandboxes to skip (default 0)'),
});

export const listSandboxesOperation = defineOperation({
  operationId: 'sandboxes-list',
  method: 'GET',
  route: SANDBOXES,
  summary: "List the organization's sandboxes",
  description: '`prod` exists from the start; the others are created with POST.',
  tag: 'Sandboxes',
  auth: 'required',
  query: SandboxListQuery,
  queryInvalid: 'The sandbox list query is invalid',
  success: [{ status: 200, description: '`{ sandboxes, _page, _links }`', schema: R.SandboxList }],
  hpke: true,
  handler: async ({ tenant, query }, services: AppServices) => {
    const { limit = DEFAULT_SANDBOX_PAGE, offset = 0 } = query;
    const all = (await listSandboxes(services.sandboxes, tenant.orgId)).filter((s) => maySeeSandbox(tenant, s.name));
    const sandboxes = all.slice(offset, offset + limit);
    const next =
      offset + limit < all.length ? { next: { href: `/${SANDBOXES}?limit=${limit}&offset=${offset + limit}` } } : {};
    return { json: { sandboxes, _page: { limit, count: sandboxes.length }, _links: next } };
  },
});

export const createSandboxOperation = defineOperation({
  operationId: 'sandboxes-create',
  method: 'POST',
  route: SANDBOXES,
  summary: 'Create a sandbox',
  tag: 'Sandboxes',
  auth: 'required',
  orgWide: true,
  request: { name: 'CreateSandboxRequest', schema: CreateSandboxRequest },
  success: [{ status: 201, description: 'The sandbox, `active`', schema: R.Sandbox }],
  problems: ['CONFLICT'],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => ({
    status: 201,
    json: await createSandbox(services.sandboxes, tenant, body),
  }),
});

export const getSandboxOperation = defineOperation({
  operationId: 'sandboxes-get',
  method: 'GET',
  route: `${SANDBOXES}/{name}`,
  summary: 'Get a sandbox',
  tag: 'Sandboxes',
  auth: 'required',
  success: [{ status: 200, description: 'The sandbox', schema: R.Sandbox }],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    const name = params.name ?? '';
    if (!maySeeSandbox(tenant, name)) throw new ForbiddenSandboxError();
    return { json: await getSandbox(services.sandboxes, tenant.orgId, name) };
  },
});

export const deleteSandboxOperation = defineOperation({
  operationId: 'sandboxes-delete',
  method: 'DELETE',
  route: `${SANDBOXES}/{name}`,
  summary: 'Delete an empty development sandbox',
  tag: 'Sandboxes',
  auth: 'required',
  orgWide: true,
  success: [{ status: 200, description: 'The sandbox as it was, `state: "deleted"`', schema: R.Sandbox }],
  problems: ['SANDBOX_NOT_EMPTY', 'SANDBOX_NOT_DELETABLE'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    const deleted = await deleteSandbox(services.sandboxes, tenant.orgId, params.name ?? '');
    services.sandboxGate.forget({ orgId: tenant.orgId, sandbox: deleted.name });
    return { json: deleted };
  },
});
