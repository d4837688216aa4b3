import { expireLandingFilesJob } from '../shared/jobs/ingestion.js';
import { registerTimer } from './lib/register.js';

/**
 * Deletes landing-zone files `LANDING_ZONE_TTL_DAYS` (7) after their upload, as Adobe's Data
 * Landing Zone does (`LANDING_TTL_SCHEDULE`, hourly). In Azure the landing account's lifecycle
 * management rule does this and the app setting `AzureWebJobs_landing_ttl_Disabled` turns the timer
 * off; locally it is the rule. A file still waiting (vault outage, revoked customer key) when it
 * expires ends its run failed with FILE_EXPIRED, never in progress for ever.
 * Named `landing_ttl`, not `landing-ttl`: on Linux, Azure can disable only a function whose name has
 * no hyphen (the app setting `AzureWebJobs_landing_ttl_Disabled`, infra/resources.bicep).
 */
registerTimer(expireLandingFilesJob);
