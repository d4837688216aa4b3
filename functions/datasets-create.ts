import { createDatasetOperation } from '../shared/api/operations/catalog.js';
import { registerHttp } from './lib/register.js';

/** `POST /data/foundation/catalog/dataSets` → 201 `["@/dataSets/{id}"]`, as Adobe's Catalog answers. */
registerHttp(createDatasetOperation);
