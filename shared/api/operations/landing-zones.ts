/** Landing zones: the sandbox's own upload container, its credential, and what it holds. */
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import { NotFoundError } from '../../errors.js';
import {
  DEFAULT_EXPLORE_LIMIT,
  exploreLandingZone,
  LANDING_ZONE_CONNECTION_SPEC,
  MAX_EXPLORE_LIMIT,
  MAX_EXPLORE_PATH,
} from '../../landing-zones/explore.js';
import {
  getLandingZone,
  getLandingZoneCredential,
  refreshLandingZoneCredential,
  ZONE_TYPE,
} from '../../landing-zones/landing-zones.js';
import { defineOperation } from '../../http/operation.js';
import * as R from '../openapi/response-schemas.js';

const LANDING_ZONE = 'data/foundation/connectors/landingzone';
const QUERY_INVALID = 'The landing zone query is invalid';

/** The response header carrying the token of the next explore page (send it back as `start`). */
export const CONTINUATION_HEADER = 'x-continuation-token';

const zoneType = z
  .literal(ZONE_TYPE, { error: `Must be ${ZONE_TYPE}` })
  .describe(`Adobe's zone type: \`${ZONE_TYPE}\``);

/** `GET .../landingzone` and `.../landingzone/credentials`: `?type=user_drop_zone`. */
export const LandingZoneQuery = z.object({ type: zoneType });

/** `POST .../landingzone/credentials?type=user_drop_zone&action=refresh`. */
export const LandingZoneRefreshQuery = z.object({
  type: zoneType,
  action: z
    .literal('refresh', { error: 'Must be refresh' })
    .describe('`refresh`: revoke every earlier credential and issue a new one'),
});

/** The paging parameters of every explore query: `limit` items, from the page `start` names. */
export const EXPLORE_PAGE_QUERY = {
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/, 'Must be a whole number from 1')
    .transform(Number)
    .refine((n) => n <= MAX_EXPLORE_LIMIT, `Must be at most ${MAX_EXPLORE_LIMIT}`)
    .optional()
    .describe(`Items per page (default ${DEFAULT_EXPLORE_LIMIT})`),
  start: z.string().max(4096).optional().describe(`The \`${CONTINUATION_HEADER}\` header of the previous page`),
};

/** `GET .../connectionSpecs/{id}/explore` query. */
export const ExploreQuery = z.object({
  objectType: z
    .enum(['root', 'folder'])
    .describe('`root`: the zone itself; `folder`: the files and folders under `object`'),
  object: z
    .string()
    .max(MAX_EXPLORE_PATH)
    .optional()
    .describe('With `folder`: `{containerName}/path/` or `dlz-user-container/path/`'),
  ...EXPLORE_PAGE_QUERY,
});

export const getLandingZoneOperation = defineOperation({
  operationId: 'landing-zone-get',
  method: 'GET',
  route: LANDING_ZONE,
  summary: "The sandbox's landing zone (created on first use)",
  tag: 'Landing zones',
  auth: 'required',
  query: LandingZoneQuery,
  queryInvalid: QUERY_INVALID,
  success: [{ status: 200, description: '`{ containerName, containerTTL }`', schema: R.LandingZone }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({ json: await getLandingZone(services.landing, tenant) }),
});

export const getLandingZoneCredentialsOperation = defineOperation({
  operationId: 'landing-zone-credentials-get',
  method: 'GET',
  route: `${LANDING_ZONE}/credentials`,
  summary: "The landing zone's current upload credential (a container SAS)",
  description:
    'The same SAS on every call until a refresh. Permissions and expiry are in the stored access policy the SAS names (`si`).',
  tag: 'Landing zones',
  auth: 'required',
  query: LandingZoneQuery,
  queryInvalid: QUERY_INVALID,
  success: [{ status: 200, description: 'The credential', schema: R.LandingZoneCredential }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({
    json: await getLandingZoneCredential(services.landing, tenant),
  }),
});

export const refreshLandingZoneCredentialsOperation = defineOperation({
  operationId: 'landing-zone-credentials-refresh',
  method: 'POST',
  route: `${LANDING_ZONE}/credentials`,
  summary: "Revoke the zone's credentials and issue a new one",
  description: 'Every earlier SAS of this zone stops working (Azure may take up to 30 s); no other zone is touched.',
  tag: 'Landing zones',
  auth: 'required',
  query: LandingZoneRefreshQuery,
  queryInvalid: QUERY_INVALID,
  success: [{ status: 200, description: 'The new credential', schema: R.LandingZoneCredential }],
  hpke: true,
  handler: async ({ tenant }, services: AppServices) => ({
    json: await refreshLandingZoneCredential(services.landing, tenant),
  }),
});

export const exploreLandingZoneOperation = defineOperation({
  operationId: 'landing-zone-explore',
  method: 'GET',
  route: 'data/foundation/flowservice/connectionSpecs/{connectionSpecId}/explore',
  summary: "List the landing zone's files and folders",
  description: `Only the Data Landing Zone spec \`${LANDING_ZONE_CONNECTION_SPEC}\`. The next page's token is in \`${CONTINUATION_HEADER}\`; send it as \`start\`.`,
  tag: 'Landing zones',
  auth: 'required',
  query: ExploreQuery,
  queryInvalid: 'The explore query is invalid',
  success: [{ status: 200, description: "Adobe's bare array of items", schema: R.ExploreItems }],
  problems: ['NOT_FOUND'],
  hpke: true,
  checkParams: ({ connectionSpecId }) => {
    if (connectionSpecId !== LANDING_ZONE_CONNECTION_SPEC)
      throw new NotFoundError('Only the Data Landing Zone connection spec can be explored here');
  },
  handler: async ({ tenant, query }, services: AppServices) => {
    const page = await exploreLandingZone(services.landing, tenant, query);
    return {
      json: page.items,
      ...(page.continuationToken === undefined ? {} : { headers: { [CONTINUATION_HEADER]: page.continuationToken } }),
    };
  },
});
