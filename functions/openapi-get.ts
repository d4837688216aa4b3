import { readFileSync } from 'node:fs';
import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { buildOpenApiDocument } from '../shared/openapi/document.js';

let document: string | undefined;

/** `GET /openapi.json` → the OpenAPI 3.1 document, generated once from the route table and the request schemas. */
export async function getOpenApiDocument(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'openapi-get', auth: 'none', invocationId: ctx.invocationId }, () => {
    document ??= JSON.stringify(buildOpenApiDocument({ version: packageVersion() }));
    return Promise.resolve({
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
      body: document,
    });
  });
}

// dist/functions/openapi-get.js → the app's package.json (deployed with the app).
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

app.http('openapi-get', {
  methods: ['GET'],
  route: 'openapi.json',
  authLevel: 'anonymous',
  handler: getOpenApiDocument,
});
