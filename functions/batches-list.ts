import { listBatchesOperation } from '../shared/api/operations/catalog.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/catalog/batches?dataSet={id}` → `{ "<batchId>": { ...batch } }`, Catalog's shape. */
registerHttp(listBatchesOperation);
