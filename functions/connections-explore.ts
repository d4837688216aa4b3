import { exploreConnectionOperation } from '../shared/api/operations/connections.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/flowservice/connections/{id}/explore?objectType=root|folder&object=PATH` → Adobe's array of files and folders, a page at a time. */
registerHttp(exploreConnectionOperation);
