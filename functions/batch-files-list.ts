import { listBatchFilesOperation } from '../shared/api/operations/catalog.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/export/batches/{batchId}/files` → `{ data: [...], _page }`, the Data Access API's shape. */
registerHttp(listBatchFilesOperation);
