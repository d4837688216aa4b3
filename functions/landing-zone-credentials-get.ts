import { getLandingZoneCredentialsOperation } from '../shared/api/operations/landing-zones.js';
import { registerHttp } from './lib/register.js';

/**
 * `GET /data/foundation/connectors/landingzone/credentials?type=user_drop_zone` →
 * `{ containerName, SASToken, storageAccountName, SASUri, expiryDate }`: the zone's current SAS,
 * the same on every call until a refresh.
 */
registerHttp(getLandingZoneCredentialsOperation);
