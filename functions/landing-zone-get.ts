import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import './lib/app-setup.js';
import { appServices } from '../shared/azure/app-services.js';
import { appPipeline } from '../shared/http/app-pipeline.js';
import { parseQuery } from '../shared/http/query.js';
import { getLandingZone, LandingZoneQuery } from '../shared/landing-zones/landing-zones.js';

/** `GET /data/foundation/connectors/landingzone?type=user_drop_zone` → `{ containerName, containerTTL }`; the zone is created on first use. */
export async function getLandingZoneFunction(req: HttpRequest, ctx: InvocationContext) {
  return appPipeline().handle(req, { route: 'landing-zone-get', auth: 'required', invocationId: ctx.invocationId }, async ({ tenant }) => {
    parseQuery(LandingZoneQuery, req.query, 'The landing zone query is invalid');
    return { json: await getLandingZone((await appServices()).landing, tenant) };
  });
}

app.http('landing-zone-get', {
  methods: ['GET'],
  route: 'data/foundation/connectors/landingzone',
  authLevel: 'anonymous',
  handler: getLandingZoneFunction,
});
