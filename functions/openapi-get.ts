import { openApiOperation } from '../shared/api/operations/index.js';
import { registerHttp } from './lib/register.js';

/** `GET /openapi.json` → the OpenAPI 3.1 document, generated once from the route table and the request schemas. */
registerHttp(openApiOperation);
