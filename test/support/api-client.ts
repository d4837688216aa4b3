export { ApiClient, apiHeaders, ensureSandbox, landingZone, waitForRun, type LandingZoneCredential, type Run } from '../../local/api-client.js';
