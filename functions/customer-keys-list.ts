import { listCustomerKeysOperation } from '../shared/api/operations/pgp-keys.js';
import { registerHttp } from './lib/register.js';

/** `GET .../encryption/customer-keys` → the sandbox's registered signature-verification keys. */
registerHttp(listCustomerKeysOperation);
