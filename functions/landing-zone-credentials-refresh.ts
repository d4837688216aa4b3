import { refreshLandingZoneCredentialsOperation } from '../shared/api/operations/landing-zones.js';
import { registerHttp } from './lib/register.js';

/**
 * `POST /data/foundation/connectors/landingzone/credentials?type=user_drop_zone&action=refresh` →
 * a new SAS of the same shape; every earlier credential of the zone stops working.
 */
registerHttp(refreshLandingZoneCredentialsOperation);
