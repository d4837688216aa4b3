import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { parseQuery } from '../shared/http/query.js';
import { getLandingZoneCredential, LandingZoneQuery } from '../shared/landing-zones/landing-zones.js';

/**
 * `GET /data/foundation/connectors/landingzone/credentials?type=user_drop_zone` →
 * `{ containerName, SASToken, storageAccountName, SASUri, expiryDate }`: the zone's current SAS,
 * the same on every call until a refresh.
 */
export async function getLandingZoneCredentialsFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'landing-zone-credentials-get', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    parseQuery(LandingZoneQuery, req.query, 'The landing zone query is invalid');
    return { json: await getLandingZoneCredential((await appServices()).landing, tenant) };
  });
}

app.http('landing-zone-credentials-get', {
  methods: ['GET'],
  route: 'data/foundation/connectors/landingzone/credentials',
  authLevel: 'anonymous',
  handler: getLandingZoneCredentialsFunction,
});
