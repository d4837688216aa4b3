import { createConnectionOperation } from '../shared/api/operations/connections.js';
import { registerHttp } from './lib/register.js';

/** `POST /data/foundation/flowservice/connections` → 201 `{ id, etag }`: a base connection to the customer's Azure Blob container or SFTP server, tried first; its credential stored encrypted. */
registerHttp(createConnectionOperation);
