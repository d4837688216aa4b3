import { registerCustomerKeyOperation } from '../shared/api/operations/pgp-keys.js';
import { registerHttp } from './lib/register.js';

/** `POST .../encryption/customer-keys` → `{ publicKeyId }`: a key the customer's files are signed with. */
registerHttp(registerCustomerKeyOperation);
