import type { CmkSettings } from '../config/app-config.js';

/** The answer of `GET /data/infrastructure/manager/byok/app-registration`, Adobe's shape. */
export interface AppRegistration {
  readonly id: 'byok';
  readonly name: string;
  readonly applicationId: string;
  readonly applicationUri: string;
  /** The consent URL a customer opens to add our multi-tenant app's service principal to their tenant. */
  readonly applicationRedirectUrl: string;
}

const AUTHORIZE_URL = 'https://login.microsoftonline.com/common/oauth2/authorize';

/** Builds the app registration answer from settings. Pure. */
export function appRegistration(settings: Pick<CmkSettings, 'appClientId' | 'appName' | 'appUri'>): AppRegistration {
  const consent = new URL(AUTHORIZE_URL);
  consent.search = new URLSearchParams({
    response_type: 'code',
    client_id: settings.appClientId,
    redirect_uri: settings.appUri,
    scope: 'user.read',
  }).toString();
  return {
    id: 'byok',
    name: settings.appName,
    applicationId: settings.appClientId,
    applicationUri: settings.appUri,
    applicationRedirectUrl: consent.href,
  };
}
