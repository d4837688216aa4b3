import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appPipeline } from '../shared/http/app-pipeline.js';

/** Any route no other function serves: 404 problem+json (the host alone would answer an empty 404). */
export async function notFound(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().notFound(req, { invocationId: ctx.invocationId });
}

app.http('not-found', {
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  route: '{*path}',
  authLevel: 'anonymous',
  handler: notFound,
});
