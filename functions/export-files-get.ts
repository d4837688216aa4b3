import { exportFileOperation } from '../shared/api/operations/catalog.js';
import { registerHttp } from './lib/register.js';

/**
 * `GET /data/foundation/export/files/{fileId}` streams a committed file's plaintext, decrypted
 * from its at-rest envelope as it is sent (never buffered whole).
 */
registerHttp(exportFileOperation);
