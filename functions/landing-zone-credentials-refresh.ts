import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { parseQuery } from '../shared/http/query.js';
import { LandingZoneRefreshQuery, refreshLandingZoneCredential } from '../shared/landing-zones/landing-zones.js';

/**
 * `POST /data/foundation/connectors/landingzone/credentials?type=user_drop_zone&action=refresh` →
 * a new SAS of the same shape; every earlier credential of the zone stops working.
 */
export async function refreshLandingZoneCredentialsFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'landing-zone-credentials-refresh', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    parseQuery(LandingZoneRefreshQuery, req.query, 'The landing zone query is invalid');
    return { json: await refreshLandingZoneCredential((await appServices()).landing, tenant) };
  });
}

app.http('landing-zone-credentials-refresh', {
  methods: ['POST'],
  route: 'data/foundation/connectors/landingzone/credentials',
  authLevel: 'anonymous',
  handler: refreshLandingZoneCredentialsFunction,
});
