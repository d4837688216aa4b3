import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { maySeeSandbox } from '../shared/auth/tenant.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { parseQuery } from '../shared/http/query.js';
import { DEFAULT_SANDBOX_PAGE, listSandboxes, SandboxListQuery } from '../shared/sandboxes/sandboxes.js';

/** `GET /data/foundation/sandbox-management/sandboxes?limit=&offset=` → Adobe's `{ sandboxes, _page, _links }`. */
export async function listSandboxesFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'sandboxes-list', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    const { limit = DEFAULT_SANDBOX_PAGE, offset = 0 } = parseQuery(SandboxListQuery, req.query, 'The sandbox list query is invalid');
    // A token confined to sandboxes (AUTH_SANDBOX_CLAIM) sees only those.
    const all = (await listSandboxes((await appServices()).sandboxes, tenant.orgId)).filter((s) => maySeeSandbox(tenant, s.name));
    const sandboxes = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? { next: { href: `/data/foundation/sandbox-management/sandboxes?limit=${limit}&offset=${offset + limit}` } } : {};
    return { json: { sandboxes, _page: { limit, count: sandboxes.length }, _links: next } };
  });
}

app.http('sandboxes-list', {
  methods: ['GET'],
  route: 'data/foundation/sandbox-management/sandboxes',
  authLevel: 'anonymous',
  handler: listSandboxesFunction,
});
