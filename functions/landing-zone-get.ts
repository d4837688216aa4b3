import { getLandingZoneOperation } from '../shared/api/operations/landing-zones.js';
import { registerHttp } from './lib/register.js';

/** `GET /data/foundation/connectors/landingzone?type=user_drop_zone` → `{ containerName, containerTTL }`; the zone is created on first use. */
registerHttp(getLandingZoneOperation);
