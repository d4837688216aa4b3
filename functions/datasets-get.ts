import { getDatasetOperation } from '../shared/api/operations/catalog.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/catalog/dataSets/{id}` → `{ "<id>": { ...dataset } }`, Catalog's shape. */
registerHttp(getDatasetOperation);
