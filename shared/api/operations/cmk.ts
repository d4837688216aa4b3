/** Customer-managed keys: the application to consent to, and the org's key configuration. */
import { z } from 'zod';
import type { AppServices } from '../../app/services.js';
import { appRegistration } from '../../cmk/app-registration.js';
import {
  BYOK_CONFIG_TYPE,
  CreateByokConfigRequest,
  createByokConfig,
  deleteByokConfig,
  getByokConfig,
} from '../../cmk/configs.js';
import { ownershipPolicy } from '../../cmk/key-ownership.js';
import { keyReader } from '../../cmk/validate-cmk-key.js';
import { defineOperation } from '../../http/operation.js';
import * as R from '../openapi/response-schemas.js';

const CONFIG = 'data/infrastructure/manager/customer/config';

/** The query of the config's GET and DELETE: `configType=BYOK_CONFIG`, as Adobe's API has it (the one type served). */
export const ByokConfigQuery = z.object({
  configType: z
    .literal(BYOK_CONFIG_TYPE, { error: `Must be ${BYOK_CONFIG_TYPE}` })
    .describe(`The configuration type: ${BYOK_CONFIG_TYPE}`),
});
const CONFIG_QUERY_INVALID = `The configType query parameter must be ${BYOK_CONFIG_TYPE}`;

function configDeps(services: AppServices) {
  return {
    tables: services.tables,
    clock: services.clock,
    allowLoopback: services.config.environment === 'local',
    ownership: ownershipPolicy(services.cmk.settings, services.config.systemKeyVaultUrl),
  };
}

export const getCmkAppRegistrationOperation = defineOperation({
  operationId: 'cmk-app-registration-get',
  method: 'GET',
  route: 'data/infrastructure/manager/byok/app-registration',
  summary: 'Get the CMK application to consent to',
  tag: 'Customer-managed keys',
  auth: 'required',
  success: [{ status: 200, description: 'The multi-tenant application', schema: R.CmkAppRegistration }],
  hpke: true,
  handler: async (_call, services: AppServices) => Promise.resolve({ json: appRegistration(services.cmk.settings) }),
});

export const createCmkConfigOperation = defineOperation({
  operationId: 'cmk-configs-create',
  orgWide: true,
  method: 'POST',
  route: CONFIG,
  summary: "Send the customer's Key Vault key identifier",
  tag: 'Customer-managed keys',
  auth: 'required',
  request: { name: 'CreateByokConfigRequest', schema: CreateByokConfigRequest },
  success: [
    {
      status: 200,
      description: 'Accepted (status NEW); a config of the org still NEW or RUNNING ends FAILED CONFIG_REPLACED',
      schema: R.ByokConfigCreated,
    },
  ],
  problems: ['CONFLICT', 'CMK_KEY_NOT_OWNED'],
  hpke: true,
  handler: async ({ tenant, body }, services: AppServices) => ({
    json: await createByokConfig(
      { ...configDeps(services), readKey: keyReader((vaultUrl) => services.clients.keys(vaultUrl)) },
      tenant,
      body,
    ),
  }),
});

export const getCmkConfigOperation = defineOperation({
  operationId: 'cmk-configs-get',
  orgWide: true,
  method: 'GET',
  route: `${CONFIG}/{name}`,
  summary: 'Get a CMK configuration and its status',
  tag: 'Customer-managed keys',
  auth: 'required',
  query: ByokConfigQuery,
  queryInvalid: CONFIG_QUERY_INVALID,
  success: [{ status: 200, description: 'The configuration', schema: R.ByokConfig }],
  problems: ['NOT_FOUND'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => ({
    json: await getByokConfig(configDeps(services), tenant, params.name ?? ''),
  }),
});

export const deleteCmkConfigOperation = defineOperation({
  operationId: 'cmk-configs-delete',
  orgWide: true,
  method: 'DELETE',
  route: `${CONFIG}/{name}`,
  summary: 'Delete a CMK configuration that never took effect (NEW, RUNNING or FAILED)',
  tag: 'Customer-managed keys',
  auth: 'required',
  query: ByokConfigQuery,
  queryInvalid: CONFIG_QUERY_INVALID,
  success: [{ status: 204, description: 'Deleted' }],
  problems: ['NOT_FOUND', 'CONFLICT', 'CMK_IRREVERSIBLE'],
  hpke: true,
  handler: async ({ tenant, params }, services: AppServices) => {
    await deleteByokConfig(configDeps(services), tenant, params.name ?? '');
    return { status: 204 };
  },
});
