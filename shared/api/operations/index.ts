/**
 * Every HTTP operation of the API, in the order the README lists them, and the OpenAPI document
 * generated from them. `functions/` registers each one as an Azure Function; the document, the
 * CLI and the tests read the same list. The catch-all 404 route is not an operation.
 */
import { readFileSync } from 'node:fs';
import type { AppServices } from '../../app/services.js';
import { defineOperation, type AnyOperation } from '../../http/operation.js';
import { buildOpenApiDocument } from '../openapi/document.js';
import * as catalog from './catalog.js';
import * as cmk from './cmk.js';
import * as connections from './connections.js';
import * as flows from './flows.js';
import * as hpke from './hpke.js';
import * as landingZones from './landing-zones.js';
import * as ops from './operations.js';
import * as pgpKeys from './pgp-keys.js';
import * as sandboxes from './sandboxes.js';

let document: string | undefined;

export const openApiOperation = defineOperation({
  operationId: 'openapi-get',
  method: 'GET',
  route: 'openapi.json',
  summary: 'This OpenAPI 3.1 document',
  tag: 'Operations',
  auth: 'none',
  success: [{ status: 200, description: 'The document' }],
  hpke: false,
  handler: (_call, _services: AppServices) => {
    document ??= JSON.stringify(buildOpenApiDocument(OPERATIONS, { version: packageVersion() }));
    return Promise.resolve({
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
      body: document,
    });
  },
});

export const OPERATIONS: readonly AnyOperation<AppServices>[] = [
  pgpKeys.createEncryptionKeyOperation,
  pgpKeys.listEncryptionKeysOperation,
  pgpKeys.getEncryptionKeyOperation,
  pgpKeys.deleteEncryptionKeyOperation,
  pgpKeys.validateEncryptionKeyOperation,
  pgpKeys.registerCustomerKeyOperation,
  pgpKeys.listCustomerKeysOperation,
  catalog.createDatasetOperation,
  catalog.getDatasetOperation,
  catalog.listBatchesOperation,
  catalog.listBatchFilesOperation,
  catalog.exportFileOperation,
  connections.createConnectionOperation,
  connections.listConnectionsOperation,
  connections.getConnectionOperation,
  connections.deleteConnectionOperation,
  connections.exploreConnectionOperation,
  flows.createSourceConnectionOperation,
  flows.getSourceConnectionOperation,
  flows.createTargetConnectionOperation,
  flows.getTargetConnectionOperation,
  flows.createFlowOperation,
  flows.listFlowsOperation,
  flows.getFlowOperation,
  flows.deleteFlowOperation,
  flows.listRunsOperation,
  cmk.getCmkAppRegistrationOperation,
  cmk.createCmkConfigOperation,
  cmk.getCmkConfigOperation,
  cmk.deleteCmkConfigOperation,
  hpke.listApiEncryptionKeysOperation,
  hpke.listApiEncryptionClientKeysOperation,
  hpke.putApiEncryptionClientKeyOperation,
  hpke.deleteApiEncryptionClientKeyOperation,
  hpke.putApiEncryptionSettingsOperation,
  landingZones.getLandingZoneOperation,
  landingZones.getLandingZoneCredentialsOperation,
  landingZones.refreshLandingZoneCredentialsOperation,
  landingZones.exploreLandingZoneOperation,
  sandboxes.listSandboxesOperation,
  sandboxes.createSandboxOperation,
  sandboxes.getSandboxOperation,
  sandboxes.deleteSandboxOperation,
  ops.healthOperation,
  openApiOperation,
];

/** The app's version from its package.json (deployed with the app), found upward from this module in `shared/` or `dist/shared/`. */
function packageVersion(): string {
  for (let url = new URL('./', import.meta.url); url.pathname !== '/'; url = new URL('../', url)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'cipherflow') return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      // not here: one folder up
    }
  }
  return '0.0.0';
}
