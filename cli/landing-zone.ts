import type { z } from 'zod';
import { LandingZone, LandingZoneCredential } from '../shared/api/openapi/response-schemas.js';
import type { ApiClient } from './api-client.js';

/** Adobe's Data Landing Zone API; `user_drop_zone` is its only zone type. */
const LANDING_ZONE = '/data/foundation/connectors/landingzone';
const ZONE_TYPE = 'type=user_drop_zone';

/** The caller's zone (created on first use): its container and how many days a file stays. */
export function getZone(api: ApiClient): Promise<z.output<typeof LandingZone>> {
  return api.json('GET', `${LANDING_ZONE}?${ZONE_TYPE}`, LandingZone);
}

/** The zone's current SAS credential: the same answer on every call until a refresh. */
export function getZoneCredential(api: ApiClient): Promise<LandingZoneCredential> {
  return api.json('GET', `${LANDING_ZONE}/credentials?${ZONE_TYPE}`, LandingZoneCredential);
}

/** Revokes every earlier SAS of the zone and answers the new one (storage may take up to 30 s to honour it). */
export function refreshZoneCredential(api: ApiClient): Promise<LandingZoneCredential> {
  return api.json('POST', `${LANDING_ZONE}/credentials?${ZONE_TYPE}&action=refresh`, LandingZoneCredential);
}

/** A credential as the CLI prints it: the SAS token and SAS URI only when `showSecret`. */
export interface CredentialView {
  readonly containerName: string;
  readonly storageAccountName: string;
  /** The SAS URI without its query: where the zone is, granting nothing. */
  readonly containerUrl: string;
  readonly expiryDate: string;
  readonly SASToken?: string;
  readonly SASUri?: string;
}

/**
 * What `landing-zone credentials|refresh` print. The SAS grants write access to the zone until it
 * expires or is refreshed, so it is treated as the CLI treats tokens: left out unless asked for.
 */
export function credentialView(credential: LandingZoneCredential, showSecret: boolean): CredentialView {
  const view = {
    containerName: credential.containerName,
    storageAccountName: credential.storageAccountName,
    containerUrl: withoutQuery(credential.SASUri),
    expiryDate: credential.expiryDate,
  };
  return showSecret ? { ...view, SASToken: credential.SASToken, SASUri: credential.SASUri } : view;
}

/** The human lines of a {@link CredentialView}. */
export function credentialLines(view: CredentialView): string[] {
  return [
    `container: ${view.containerName}`,
    `account:   ${view.storageAccountName}`,
    `url:       ${view.containerUrl}`,
    `expires:   ${view.expiryDate}`,
    ...(view.SASUri === undefined || view.SASToken === undefined
      ? ['SAS:       hidden (--show-secret prints it)']
      : [`SAS token: ${view.SASToken}`, `SAS URI:   ${view.SASUri}`]),
  ];
}

function withoutQuery(sasUri: string): string {
  try {
    const url = new URL(sasUri);
    url.search = '';
    url.hash = '';
    return url.href;
  } catch {
    // Not a URL: nothing of it is printed, since its query part may be the secret.
    return '';
  }
}
