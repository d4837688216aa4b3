import { exploreLandingZoneOperation } from '../shared/api/operations/landing-zones.js';
import { registerHttp } from './lib/register.js';

/**
 * `GET /data/foundation/flowservice/connectionSpecs/26f526f2-58f4-4712-961d-e41bf1ccc0e8/explore?objectType=root|folder&object=PATH`
 * → Adobe's bare array of `{ type, name, path, canPreview, canFetchSchema }` for the caller's zone;
 * the next page's token in `x-continuation-token`.
 */
registerHttp(exploreLandingZoneOperation);
