import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APP_PROCESS_ENV } from '../../local/runtime-process.js';
import { parseAuthConfig } from '../../shared/auth/auth-config.js';
import { parseCmkSettings } from '../../shared/cmk/cmk-settings.js';
import { parseConfig } from '../../shared/config.js';
import { triggerSettings } from '../../shared/trigger-settings.js';
import {
  blockAt,
  objectProperty,
  property,
  readBicep,
  repoPath,
  resourcesOfType,
  type BicepFile,
} from './bicep-source.js';

// Structural checks of infra/ and azure.yaml. No Bicep compiler installs here (it is published on
// NuGet and GitHub only), so these tests do NOT prove that the templates compile or deploy: they
// check what can be read from the text (contracts between files, required resources and
// properties, role ids, app settings against the app's own settings parsers).

const main = readBicep('infra/main.bicep');
const resources = readBicep('infra/resources.bicep');
const events = readBicep('infra/landing-events.bicep');
const files = [main, resources, events];
const azureYaml = readFileSync(repoPath('azure.yaml'), 'utf8');

function only<T>(items: readonly T[], what: string): T {
  expect(items, what).toHaveLength(1);
  const [item] = items;
  if (item === undefined) throw new Error(what);
  return item;
}

/** Names used outside their own declaration line. */
function isReferenced(file: BicepFile, name: string, keyword: string): boolean {
  const uses = [...file.code.matchAll(new RegExp(`\\b${name}\\b`, 'g'))].length;
  const declarations = [...file.code.matchAll(new RegExp(`^${keyword} ${name}\\b`, 'gm'))].length;
  return uses > declarations;
}

describe('infra/*.bicep: contracts between files', () => {
  it.each(files.map((f) => [f.name, f] as const))('%s uses every param and var it declares', (_name, file) => {
    for (const name of file.params.keys()) expect(isReferenced(file, name, 'param'), `param ${name}`).toBe(true);
    for (const name of file.vars) expect(isReferenced(file, name, 'var'), `var ${name}`).toBe(true);
  });

  it('passes each module exactly the params it declares, every required one included', () => {
    const callers = [...main.modules.map((m) => [main, m] as const)];
    expect(callers.map(([, m]) => m.path).sort()).toEqual(['landing-events.bicep', 'resources.bicep']);
    for (const [, module] of callers) {
      const target = readBicep(`infra/${module.path}`);
      const passed = [...objectProperty(module.body, 'params').matchAll(/^\s*(\w+):/gm)].map((m) => m[1]);
      for (const name of passed) expect(target.params.has(name ?? ''), `${module.path} has param ${name}`).toBe(true);
      for (const [name, p] of target.params) {
        if (!p.hasDefault) expect(passed, `${module.path} gets ${name}`).toContain(name);
      }
    }
  });

  it('reads only outputs the resources module declares', () => {
    for (const m of main.code.matchAll(/resources\.outputs\.(\w+)/g)) {
      expect(resources.outputs, `output ${m[1]}`).toContain(m[1]);
    }
  });

  it('maps every main.bicep param in main.parameters.json, and nothing else', () => {
    const json = JSON.parse(readFileSync(repoPath('infra/main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: string }>;
    };
    expect(Object.keys(json.parameters).sort()).toEqual([...main.params.keys()].sort());
    // azd substitutes ${VAR} / ${VAR=default} from the environment: no value is written in the file.
    for (const [name, { value }] of Object.entries(json.parameters)) {
      expect(value, name).toMatch(/^\$\{[A-Z_]+(=[\w-]+)?\}$/);
    }
  });
});

describe('infra/resources.bicep: what production needs', () => {
  it('runs the app on a Flex Consumption plan, Linux, Node 22', () => {
    const plan = only(resourcesOfType(resources, 'Microsoft.Web/serverfarms'), 'one plan');
    expect(plan.body).toMatch(/sku: \{ name: 'FC1', tier: 'FlexConsumption' \}/);
    expect(plan.body).toMatch(/reserved: true/);
    const site = only(resourcesOfType(resources, 'Microsoft.Web/sites'), 'one function app');
    expect(property(site.body, 'kind')).toBe("'functionapp,linux'");
    const config = objectProperty(site.body, 'functionAppConfig');
    expect(objectProperty(config, 'runtime')).toMatch(/name: 'node', version: '22'/);
    const scale = objectProperty(config, 'scaleAndConcurrency');
    expect(property(scale, 'instanceMemoryMB')).toBeDefined();
    expect(property(scale, 'maximumInstanceCount')).toBeDefined();
    const storage = objectProperty(objectProperty(config, 'deployment'), 'storage');
    expect(property(storage, 'type')).toBe("'blobContainer'");
    expect(objectProperty(storage, 'authentication')).toMatch(
      /type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity\.id/,
    );
    expect(objectProperty(site.body, 'identity')).toMatch(/type: 'UserAssigned'/);
  });

  it('creates the system vault with RBAC, soft delete and purge protection', () => {
    const vault = only(resourcesOfType(resources, 'Microsoft.KeyVault/vaults'), 'one vault');
    const props = objectProperty(vault.body, 'properties');
    expect(property(props, 'enableRbacAuthorization')).toBe('true');
    expect(property(props, 'enableSoftDelete')).toBe('true');
    expect(property(props, 'enablePurgeProtection')).toBe('true');
    expect(props).not.toMatch(/accessPolicies/);
  });

  it('creates the system KEK as RSA 3072 allowed to wrap and unwrap only', () => {
    const key = only(resourcesOfType(resources, 'Microsoft.KeyVault/vaults/keys'), 'one key');
    const props = objectProperty(key.body, 'properties');
    expect(property(props, 'kty')).toBe('systemKeyType');
    expect(resources.code).toMatch(/@allowed\(\['RSA', 'RSA-HSM'\]\)\nparam systemKeyType string/);
    expect(property(props, 'keySize')).toBe('3072');
    expect(property(props, 'keyOps')).toBe("['wrapKey', 'unwrapKey']");
  });

  it('creates the landing container the trigger watches, with the trigger default name', () => {
    expect(resources.code).toMatch(/param landingContainer string = 'landing'/);
    expect(triggerSettings({}).landingContainer).toBe('landing');
    const containers = resourcesOfType(resources, 'containers').map((c) => property(c.body, 'name'));
    expect(containers).toContain('landingContainer');
  });

  it('keeps storage identity-only: no shared keys, no public blobs', () => {
    const storage = only(resourcesOfType(resources, 'Microsoft.Storage/storageAccounts'), 'one account');
    const props = objectProperty(storage.body, 'properties');
    expect(property(props, 'allowSharedKeyAccess')).toBe('false');
    expect(property(props, 'allowBlobPublicAccess')).toBe('false');
    expect(property(storage.body, 'kind')).toBe("'StorageV2'");
  });

  it('sends telemetry with Entra auth only to Application Insights on a workspace', () => {
    const ai = only(resourcesOfType(resources, 'Microsoft.Insights/components'), 'one component');
    expect(property(ai.body, 'DisableLocalAuth')).toBe('true');
    expect(property(ai.body, 'WorkspaceResourceId')).toBe('logs.id');
  });

  it('grants the identity exactly the built-in roles the app and host need, by their documented ids', () => {
    // Ids from the Azure built-in roles reference.
    expect(blockAt(resources.code, resources.code.indexOf('var roles = '))).toBe(
      [
        '{',
        "  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6'",
        "  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'",
        "  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'",
        "  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'",
        "  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'",
        '}',
      ].join('\n'),
    );
    const assignments = resourcesOfType(resources, 'Microsoft.Authorization/roleAssignments');
    const scoped = assignments.map(
      (a) => [property(a.body, 'scope'), /roles\.(\w+)\)\n/.exec(a.body)?.[1] ?? 'storageRoles'] as const,
    );
    expect(scoped).toEqual([
      ['vault', 'keyVaultCryptoServiceEncryptionUser'],
      ['storage', 'storageRoles'],
      ['appInsights', 'monitoringMetricsPublisher'],
    ]);
    expect(resources.code).toMatch(
      /var storageRoles = \[roles\.storageBlobDataOwner, roles\.storageQueueDataContributor, roles\.storageTableDataContributor\]/,
    );
    for (const a of assignments) {
      expect(a.body).toMatch(/principalId: identity\.properties\.principalId/);
      expect(a.body).toMatch(/principalType: 'ServicePrincipal'/);
      // Deterministic names: a redeploy finds the same assignment instead of failing on a duplicate.
      expect(property(a.body, 'name')).toMatch(/^guid\(\w+\.id, identity\.id, (roles\.\w+|role)\)$/);
    }
  });

  it('holds no secret: no keys, no connection strings with keys, no listKeys outside the event subscription', () => {
    for (const file of files) {
      expect(file.code, file.name).not.toMatch(/AccountKey|SharedAccessSignature|listConnectionStrings|@secure/i);
      expect(file.code, file.name).not.toMatch(/\bsecret\w*:/i);
      if (file !== events) expect(file.code, file.name).not.toMatch(/listKeys/);
      for (const name of file.outputs) {
        const line = new RegExp(`^output ${name} [^\\n]+`, 'm').exec(file.code)?.[0] ?? '';
        expect(line, name).not.toMatch(/listKeys|blobsExtensionKey|key\b/i);
      }
    }
  });
});

describe('infra/resources.bicep: app settings', () => {
  const site = only(resourcesOfType(resources, 'config'), 'one appsettings resource');
  const settings = new Map(
    [...objectProperty(site.body, 'properties').matchAll(/^\s*(\w+): ([^\n]+)$/gm)].map((m) => [
      m[1] ?? '',
      (m[2] ?? '').trim(),
    ]),
  );
  // What each expression-valued setting resolves to in Azure (shape only).
  const resolved: Record<string, string> = {
    'storage.name': 'stabcdefghijklm',
    'identity.properties.clientId': '11111111-2222-4333-8444-555555555555',
    'tenant().tenantId': '66666666-7777-4888-8999-000000000000',
    'appInsights.properties.ConnectionString': 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
    "'ClientId=${identity.properties.clientId};Authorization=AAD'": 'ClientId=1;Authorization=AAD',
    'vault.properties.vaultUri': 'https://kv-abcdefghijklm.vault.azure.net/',
    'systemKek.name': 'cipherflow-system-kek',
    landingContainer: 'landing',
    authIssuer: 'https://issuer.example',
    authAudience: 'cipherflow',
    authJwksUrl: 'https://issuer.example/.well-known/jwks.json',
    cmkAppClientId: 'e463a445-c6ac-4ca2-b36a-b5146fcf6a52',
    cmkAppName: 'cipherflow-cmk',
    cmkAppUri: 'https://cipherflow.example/cmk',
  };
  const env: Record<string, string> = {};
  for (const [key, value] of settings) {
    const literal = /^'([^'$]*)'$/.exec(value)?.[1];
    env[key] = literal ?? resolved[value] ?? `<unresolved ${value}>`;
  }

  it('resolves every setting (the test knows each expression)', () => {
    expect(Object.values(env).filter((v) => v.startsWith('<unresolved'))).toEqual([]);
  });

  it('starts the app in production mode: every settings parser of the app accepts them', () => {
    expect(env.CIPHERFLOW_ENV).toBe('production');
    const config = parseConfig(env);
    expect(config.environment).toBe('production');
    expect(config.storage).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://stabcdefghijklm.blob.core.windows.net',
      tableServiceUri: 'https://stabcdefghijklm.table.core.windows.net',
    });
    expect(parseAuthConfig(env).issuer).toBe('https://issuer.example');
    expect(parseCmkSettings(env).appClientId).toBe('e463a445-c6ac-4ca2-b36a-b5146fcf6a52');
    expect(triggerSettings(env)).toEqual(triggerSettings({}));
  });

  it('runs the app process with the same process settings as the local runtime', () => {
    for (const [key, value] of Object.entries(APP_PROCESS_ENV)) expect(env[key], key).toBe(value);
  });

  it('uses the user-assigned identity for the host, DefaultAzureCredential and telemetry', () => {
    expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(settings.get('AzureWebJobsStorage__clientId')).toBe('identity.properties.clientId');
    expect(settings.get('AZURE_CLIENT_ID')).toBe('identity.properties.clientId');
    expect(settings.has('AzureWebJobsStorage')).toBe(false);
  });

  it('sets none of the settings Flex Consumption refuses', () => {
    for (const refused of [
      'FUNCTIONS_WORKER_RUNTIME',
      'FUNCTIONS_EXTENSION_VERSION',
      'WEBSITE_RUN_FROM_PACKAGE',
      'WEBSITE_NODE_DEFAULT_VERSION',
    ]) {
      expect(settings.has(refused), refused).toBe(false);
    }
  });
});

describe('infra/landing-events.bicep: the Event Grid blob trigger', () => {
  const subscription = only(
    resourcesOfType(events, 'Microsoft.EventGrid/systemTopics/eventSubscriptions'),
    'one subscription',
  );

  it('targets the blob extension webhook of the ingest-landing function with the blobs_extension key', () => {
    const registration = readFileSync(repoPath('functions/ingest-landing.ts'), 'utf8');
    expect(registration).toMatch(/app\.storageBlob\('ingest-landing', \{(?:(?!\n\}\);)[\s\S])*source: 'EventGrid'/);
    expect(events.code).toMatch(/param functionName string = 'ingest-landing'/);
    expect(property(subscription.body, 'endpointUrl')).toBe(
      "'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'",
    );
    expect(events.code).toMatch(
      /listKeys\('\$\{functionApp\.id\}\/host\/default', '[\d-]+'\)\.systemKeys\.blobs_extension/,
    );
  });

  it('delivers only BlobCreated events of the landing container', () => {
    const filter = objectProperty(subscription.body, 'filter');
    expect(property(filter, 'includedEventTypes')).toBe("['Microsoft.Storage.BlobCreated']");
    expect(property(filter, 'subjectBeginsWith')).toBe("'/blobServices/default/containers/${landingContainer}/'");
  });

  it('hangs off the storage account system topic that resources.bicep creates', () => {
    const topic = only(resourcesOfType(resources, 'Microsoft.EventGrid/systemTopics'), 'one topic');
    expect(property(topic.body, 'source')).toBe('storage.id');
    expect(property(topic.body, 'topicType')).toBe("'Microsoft.Storage.StorageAccounts'");
    expect(property(subscription.body, 'parent')).toBe('systemTopic');
  });
});

describe('azure.yaml', () => {
  it('deploys the repository root as one TypeScript function app service', () => {
    expect(azureYaml).toMatch(
      /^services:\n {2}cipherflow:[^\n]*\n {4}project: \.\n {4}language: ts\n {4}host: function\n/m,
    );
    expect(azureYaml).toMatch(/^infra:\n {2}provider: bicep\n {2}path: infra\n {2}module: main\n/m);
    // azd finds the app by this tag.
    expect(resources.code).toMatch(/'azd-service-name': 'cipherflow'/);
  });

  it('runs the postdeploy hook that creates the event subscription, and the hook exists', () => {
    const hooks = [...azureYaml.matchAll(/run: \.\/(infra\/hooks\/[\w.-]+)/g)].map((m) => m[1] ?? '');
    expect(hooks.sort()).toEqual(['infra/hooks/postdeploy.ps1', 'infra/hooks/postdeploy.sh']);
    accessSync(repoPath('infra/hooks/postdeploy.sh'), constants.X_OK);
    for (const hook of hooks) {
      const text = readFileSync(repoPath(hook), 'utf8');
      expect(text).toMatch(/CIPHERFLOW_LANDING_EVENTS/);
      expect(text).toMatch(/SERVICE_CIPHERFLOW_URI/);
    }
    expect(main.outputs).toContain('SERVICE_CIPHERFLOW_URI');
    expect(readFileSync(repoPath('infra/main.parameters.json'), 'utf8')).toMatch(
      /"\$\{CIPHERFLOW_LANDING_EVENTS=false\}"/,
    );
  });
});
