import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { NotFoundError } from '../shared/errors.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { parseQuery } from '../shared/http/query.js';
import { CONTINUATION_HEADER, exploreLandingZone, ExploreQuery, LANDING_ZONE_CONNECTION_SPEC } from '../shared/landing-zones/explore.js';

/**
 * `GET /data/foundation/flowservice/connectionSpecs/26f526f2-58f4-4712-961d-e41bf1ccc0e8/explore?objectType=root|folder&object=PATH`
 * → Adobe's bare array of `{ type, name, path, canPreview, canFetchSchema }` for the caller's zone;
 * the next page's token in `x-continuation-token`.
 */
export async function exploreLandingZoneFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'landing-zone-explore', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    if (req.params.connectionSpecId !== LANDING_ZONE_CONNECTION_SPEC) throw new NotFoundError('Only the Data Landing Zone connection spec can be explored here');
    const query = parseQuery(ExploreQuery, req.query, 'The explore query is invalid');
    const page = await exploreLandingZone((await appServices()).landing, tenant, query);
    return {
      json: page.items,
      ...(page.continuationToken === undefined ? {} : { headers: { [CONTINUATION_HEADER]: page.continuationToken } }),
    };
  });
}

app.http('landing-zone-explore', {
  methods: ['GET'],
  route: 'data/foundation/flowservice/connectionSpecs/{connectionSpecId}/explore',
  authLevel: 'anonymous',
  handler: exploreLandingZoneFunction,
});
