import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APP_PROCESS_ENV } from '../../local/runtime-process.js';
import { loadConfig, loadConfigPart } from '../../shared/config/app-config.js';
import {
  bicepFiles,
  blockAt,
  entries,
  objectProperty,
  property,
  readBicep,
  repoPath,
  resourcesOfType,
  type BicepFile,
  type BicepResource,
} from './bicep-source.js';
import { reconcileCmkJob, rotateSystemKekJob } from '../../shared/jobs/cmk.js';
import { rotateHpkeKeysJob } from '../../shared/jobs/hpke.js';
import { expireLandingFilesJob, ingestLandingJob, retryParkedIngestionJob } from '../../shared/jobs/ingestion.js';

// Structural checks of infra/ and azure.yaml. No Bicep compiler installs here (it is published on
// NuGet and GitHub only), so these tests do NOT prove that the templates compile or deploy: they
// check what can be read from the text (contracts between files, required resources and
// properties, role ids, app settings against the app's own settings parsers).

const main = readBicep('infra/main.bicep');
const resources = readBicep('infra/resources.bicep');
const landing = readBicep('infra/landing.bicep');
const files = bicepFiles().map(readBicep);
const azureYaml = readFileSync(repoPath('azure.yaml'), 'utf8');
const mainParametersJson = readFileSync(repoPath('infra/main.parameters.json'), 'utf8');

// The local timer that deletes landed files past their TTL, off in Azure (the lifecycle rule does
// it there). No hyphen: on Linux no app setting can name a function whose name has one.
const LANDING_TTL_FUNCTION = 'landing_ttl';

// What each expression-valued app setting resolves to in Azure (shape only).
const RESOLVED: Readonly<Record<string, string>> = {
  'storage.name': 'stabcdefghijklm',
  'identity.properties.clientId': '11111111-2222-4333-8444-555555555555',
  'tenant().tenantId': '66666666-7777-4888-8999-000000000000',
  'appInsights.properties.ConnectionString': 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
  "'ClientId=${identity.properties.clientId};Authorization=AAD'": 'ClientId=1;Authorization=AAD',
  'vault.properties.vaultUri': 'https://kv-abcdefghijklm.vault.azure.net/',
  'systemKek.name': 'cipherflow-system-kek',
  'landing.outputs.accountName': 'stdlzabcdefghijklm',
  // primaryEndpoints.blob: with its trailing slash.
  'landing.outputs.blobEndpoint': 'https://stdlzabcdefghijklm.blob.core.windows.net/',
  'landing.outputs.accountId':
    '/subscriptions/77777777-8888-4999-8aaa-bbbbbbbbbbbb/resourceGroups/rg-prod/providers/Microsoft.Storage/storageAccounts/stdlzabcdefghijklm',
  'storage::queueService::landingEvents.name': 'landing-events',
  'string(landingZoneSasDays)': paramDefault(resources, 'landingZoneSasDays'),
  'string(landingZoneTtlDays)': paramDefault(resources, 'landingZoneTtlDays'),
  authIssuer: 'https://issuer.example',
  authAudience: 'cipherflow',
  authJwksUrl: 'https://issuer.example/.well-known/jwks.json',
  cmkAppClientId: 'e463a445-c6ac-4ca2-b36a-b5146fcf6a52',
  cmkAppName: 'cipherflow-cmk',
  cmkAppUri: 'https://cipherflow.example/cmk',
  "empty(publicBaseUrl) ? 'https://${functionApp.properties.defaultHostName}' : publicBaseUrl": 'https://func-abcdefghijklm.azurewebsites.net',
};

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

  it('nests the modules main -> resources -> landing, and nothing else', () => {
    const calls = files.flatMap((f) => f.modules.map((m) => `${f.name} -> ${m.path}`));
    expect(calls).toEqual(['infra/main.bicep -> resources.bicep', 'infra/resources.bicep -> landing.bicep']);
  });

  it('passes each module exactly the params it declares, every required one included', () => {
    for (const caller of files) {
      for (const module of caller.modules) {
        const target = readBicep(`infra/${module.path}`);
        const passed = [...entries(objectProperty(module.body, 'params')).keys()];
        for (const name of passed) expect(target.params.has(name), `${module.path} has param ${name}`).toBe(true);
        for (const [name, p] of target.params) {
          if (!p.hasDefault) expect(passed, `${module.path} gets ${name}`).toContain(name);
        }
      }
    }
  });

  it('reads only outputs a module declares', () => {
    for (const caller of files) {
      for (const module of caller.modules) {
        const target = readBicep(`infra/${module.path}`);
        for (const m of caller.code.matchAll(new RegExp(`\\b${module.symbol}\\.outputs\\.(\\w+)`, 'g'))) {
          expect(target.outputs, `${module.path} output ${m[1]}`).toContain(m[1]);
        }
      }
    }
  });

  it('maps every main.bicep param in main.parameters.json, and nothing else', () => {
    const json = JSON.parse(mainParametersJson) as {
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

  it('keeps the internal account identity-only: no shared keys, no public blobs', () => {
    const storage = only(resourcesOfType(resources, 'Microsoft.Storage/storageAccounts'), 'one internal account');
    const props = objectProperty(storage.body, 'properties');
    expect(property(props, 'allowSharedKeyAccess')).toBe('false');
    expect(property(props, 'allowBlobPublicAccess')).toBe('false');
    expect(property(storage.body, 'kind')).toBe("'StorageV2'");
  });

  it('declares the landing-events queue and its dead-letter container in the internal account, and no shared landing container', () => {
    expect(resources.code).toMatch(/^var landingEventsQueue = 'landing-events'$/m);
    expect(resources.code).toMatch(/^var landingEventsDeadLetter = 'landing-events-deadletter'$/m);
    const queue = only(resourcesOfType(resources, 'queues'), 'one queue');
    expect(property(queue.body, 'name')).toBe('landingEventsQueue');
    const containers = resourcesOfType(resources, 'containers').map((c) => property(c.body, 'name'));
    expect(containers.sort()).toEqual(['deploymentContainer', 'landingEventsDeadLetter']);
    expect(resources.params.has('landingContainer')).toBe(false);
    for (const file of files) expect(file.code, file.name).not.toMatch(/LANDING_CONTAINER|landingContainer/);
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

  it('holds no secret: no keys, no connection strings with keys, no listKeys anywhere', () => {
    for (const file of files) {
      expect(file.code, file.name).not.toMatch(
        /AccountKey=|SharedAccessSignature|listConnectionStrings|listAccountSas|listServiceSas|@secure/i,
      );
      expect(file.code, file.name).not.toMatch(/\bsecret\w*:/i);
      // The app reads the landing account's key at run time with its own identity; a template that
      // read it would put it in the deployment's history.
      expect(file.code, file.name).not.toMatch(/\blist\w*\(/i);
      for (const name of file.outputs) {
        const line = new RegExp(`^output ${name} [^\\n]+`, 'm').exec(file.code)?.[0] ?? '';
        expect(line, name).not.toMatch(/\blist\w*\(|keys?\b/i);
      }
    }
  });
});

describe('infra/resources.bicep: app settings', () => {
  const settings = appSettings();
  const env = appEnv();

  it('resolves every setting (the test knows each expression)', () => {
    expect(Object.values(env).filter((v) => v.startsWith('<unresolved'))).toEqual([]);
  });

  it('starts the app in production mode: the app\'s configuration accepts them', () => {
    expect(env.CIPHERFLOW_ENV).toBe('production');
    const config = loadConfig(env);
    expect(config.environment).toBe('production');
    expect(config.publicBaseUrl).toBe('https://func-abcdefghijklm.azurewebsites.net');
    expect(config.storage).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://stabcdefghijklm.blob.core.windows.net',
      tableServiceUri: 'https://stabcdefghijklm.table.core.windows.net',
      queueServiceUri: 'https://stabcdefghijklm.queue.core.windows.net',
    });
    expect(config.auth.issuer).toBe('https://issuer.example');
    expect(config.cmk.appClientId).toBe('e463a445-c6ac-4ca2-b36a-b5146fcf6a52');
    expect(config.triggers).toEqual(loadConfigPart('triggers', {}));
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

  it('names every setting as Linux app settings allow (letters, digits, underscores)', () => {
    // Flex Consumption is Linux: ARM refuses a setting name with '-' or ':' (400), so
    // `AzureWebJobs.landing-ttl.Disabled` would fail the deployment, and a '.' may not reach the process.
    for (const key of settings.keys()) expect(key).toMatch(/^[A-Za-z0-9_]+$/);
  });

  it('tells the app where the landing account is, and never its key', () => {
    expect(settings.get('LandingStorage__accountName')).toBe('landing.outputs.accountName');
    expect(settings.get('LandingStorage__blobServiceUri')).toBe('landing.outputs.blobEndpoint');
    expect(settings.get('LANDING_ACCOUNT_RESOURCE_ID')).toBe('landing.outputs.accountId');
    expect(landingOutput('accountName')).toBe('landingAccount.name');
    expect(landingOutput('blobEndpoint')).toBe('landingAccount.properties.primaryEndpoints.blob');
    expect(landingOutput('accountId')).toBe('landingAccount.id');
    expect(settings.has('LANDING_CONTAINER')).toBe(false);
    for (const [key, value] of settings) expect(value, key).not.toMatch(/\blist\w*\(|primaryKey|keys\(/i);
  });

  it('names the queue the ingest-landing trigger reads: the one Event Grid fills', () => {
    expect(settings.get('LANDING_EVENTS_QUEUE')).toBe('storage::queueService::landingEvents.name');
    expect(env.LANDING_EVENTS_QUEUE).toBe('landing-events');
    expect(moduleParam('eventsQueueName')).toBe('storage::queueService::landingEvents.name');
  });

  it('gives the app the zone lifetimes: 90-day SAS, 7-day TTL from the param the lifecycle rule uses', () => {
    expect(resources.code).toMatch(/^@minValue\(1\)\n(?:@\w+\(.*\)\n)*param landingZoneTtlDays int = 7$/m);
    expect(resources.code).toMatch(/^@minValue\(1\)\n(?:@\w+\(.*\)\n)*param landingZoneSasDays int = 90$/m);
    expect(settings.get('LANDING_ZONE_TTL_DAYS')).toBe('string(landingZoneTtlDays)');
    expect(settings.get('LANDING_ZONE_SAS_DAYS')).toBe('string(landingZoneSasDays)');
    expect(moduleParam('ttlDays')).toBe('landingZoneTtlDays');
    expect([env.LANDING_ZONE_TTL_DAYS, env.LANDING_ZONE_SAS_DAYS]).toEqual(['7', '90']);
  });

  it('turns the local landing TTL timer off in Azure, where the lifecycle rule deletes', () => {
    expect(disabledFunctions(settings)).toEqual([LANDING_TTL_FUNCTION]);
    expect(env[`AzureWebJobs_${LANDING_TTL_FUNCTION}_Disabled`]).toBe('true');
  });
});

describe('infra/landing.bicep: the landing account', () => {
  // Looked up inside each test, so a missing resource fails the tests, not the file.
  const account = (): BicepResource =>
    only(resourcesOfType(landing, 'Microsoft.Storage/storageAccounts'), 'one landing account');

  it('is the only account with shared keys: zone SAS are signed with its key; internal storage stays Entra-only', () => {
    const props = objectProperty(account().body, 'properties');
    expect(property(props, 'allowSharedKeyAccess')).toBe('true');
    expect(property(props, 'allowBlobPublicAccess')).toBe('false');
    expect(property(props, 'minimumTlsVersion')).toBe("'TLS1_2'");
    expect(property(props, 'supportsHttpsTrafficOnly')).toBe('true');
    expect(property(props, 'isHnsEnabled')).toBe('false');
    expect(property(account().body, 'kind')).toBe("'StorageV2'");
    const withSharedKey = files
      .flatMap((f) => resourcesOfType(f, 'Microsoft.Storage/storageAccounts').map((a) => [f.name, a] as const))
      .filter(([, a]) => property(objectProperty(a.body, 'properties'), 'allowSharedKeyAccess') !== 'false')
      .map(([name, a]) => `${name}:${a.symbol}`);
    expect(withSharedKey).toEqual(['infra/landing.bicep:landingAccount']);
  });

  it('keeps no deleted file past the TTL: blob and container soft delete off, no versioning', () => {
    const service = only(resourcesOfType(landing, 'blobServices'), 'one blob service');
    const serviceProps = objectProperty(service.body, 'properties');
    expect(objectProperty(serviceProps, 'deleteRetentionPolicy')).toBe('{ enabled: false }');
    expect(objectProperty(serviceProps, 'containerDeleteRetentionPolicy')).toBe('{ enabled: false }');
    expect(property(serviceProps, 'isVersioningEnabled')).toBe('false');
    // No CORS yet: browser uploads come later.
    expect(serviceProps).not.toMatch(/cors/);
  });

  it('deletes every block blob the TTL after its upload, account-wide, with the param the app is told', () => {
    const policy = only(resourcesOfType(landing, 'managementPolicies'), 'one lifecycle policy');
    expect(property(policy.body, 'name')).toBe("'default'");
    const rules = objectProperty(policy.body, 'policy');
    expect([...rules.matchAll(/\bdefinition: \{/g)]).toHaveLength(1);
    expect(property(rules, 'enabled')).toBe('true');
    expect(property(rules, 'type')).toBe("'Lifecycle'");
    const filters = objectProperty(rules, 'filters');
    expect(filters).toMatch(/\bblobTypes: \[[^\]]*'blockBlob'/);
    // The whole account: it holds zones only.
    expect(filters).not.toMatch(/prefixMatch|blobIndexMatch/);
    const baseBlob = objectProperty(objectProperty(rules, 'actions'), 'baseBlob');
    expect(objectProperty(baseBlob, 'delete')).toMatch(/^\{ daysAfterModificationGreaterThan: ttlDays \}$/);
    expect(landing.params.get('ttlDays')).toEqual({ type: 'int', hasDefault: false });
    expect(moduleParam('ttlDays')).toBe('landingZoneTtlDays');
  });
});

describe('infra/landing.bicep: Event Grid to the landing-events queue', () => {
  const topic = (): BicepResource =>
    only(
      files.flatMap((f) => resourcesOfType(f, 'Microsoft.EventGrid/systemTopics')),
      'one system topic in all of infra',
    );
  const subscription = (): BicepResource =>
    only(
      files.flatMap((f) => resourcesOfType(f, 'Microsoft.EventGrid/systemTopics/eventSubscriptions')),
      'one event subscription in all of infra',
    );
  const subscriptionProps = (): string => objectProperty(subscription().body, 'properties');

  it('hangs a system topic with its own identity off the landing account', () => {
    expect(resourcesOfType(landing, 'Microsoft.EventGrid/systemTopics').map((t) => t.symbol)).toEqual([topic().symbol]);
    const props = objectProperty(topic().body, 'properties');
    expect(property(props, 'source')).toBe('landingAccount.id');
    expect(property(props, 'topicType')).toBe("'Microsoft.Storage.StorageAccounts'");
    expect(objectProperty(topic().body, 'identity')).toBe("{ type: 'SystemAssigned' }");
    expect(property(subscription().body, 'parent')).toBe('landingTopic');
  });

  it('subscribes to BlobCreated of zone containers (dlz-) only, in the Event Grid schema', () => {
    const filter = objectProperty(subscriptionProps(), 'filter');
    expect(property(filter, 'includedEventTypes')).toBe("['Microsoft.Storage.BlobCreated']");
    expect(property(filter, 'subjectBeginsWith')).toBe("'/blobServices/default/containers/dlz-'");
    expect(property(subscriptionProps(), 'eventDeliverySchema')).toBe("'EventGridSchema'");
  });

  it('delivers to the landing-events queue of the internal account with the topic identity', () => {
    // deliveryWithResourceIdentity and deadLetterWithResourceIdentity: in this API version's schema.
    expect(subscription().apiVersion >= '2022-06-15').toBe(true);
    const top = entries(subscriptionProps());
    expect(top.has('destination'), 'no key-based destination').toBe(false);
    expect(top.has('deadLetterDestination'), 'no key-based dead letter').toBe(false);
    const delivery = objectProperty(subscriptionProps(), 'deliveryWithResourceIdentity');
    expect(objectProperty(delivery, 'identity')).toBe("{ type: 'SystemAssigned' }");
    const destination = objectProperty(delivery, 'destination');
    expect(property(destination, 'endpointType')).toBe("'StorageQueue'");
    const queue = objectProperty(destination, 'properties');
    expect(property(queue, 'resourceId')).toBe('internalStorage.id');
    expect(property(queue, 'queueName')).toBe('internalStorage::queueService::eventsQueue.name');
    // A message outliving its file would point at a deleted blob.
    expect(property(queue, 'queueMessageTimeToLiveInSeconds')).toBe('ttlDays * 86400');
    expect(existingName('internalStorage')).toBe('internalStorageName');
    expect(existingName('eventsQueue')).toBe('eventsQueueName');
    expect(moduleParam('internalStorageName')).toBe('storage.name');
    expect(moduleParam('eventsQueueName')).toBe('storage::queueService::landingEvents.name');
  });

  it('retries for a day, then dead-letters into the internal account with the topic identity', () => {
    const retry = objectProperty(subscriptionProps(), 'retryPolicy');
    expect(property(retry, 'eventTimeToLiveInMinutes')).toBe('1440');
    expect(property(retry, 'maxDeliveryAttempts')).toBe('30');
    const deadLetter = objectProperty(subscriptionProps(), 'deadLetterWithResourceIdentity');
    expect(objectProperty(deadLetter, 'identity')).toBe("{ type: 'SystemAssigned' }");
    const destination = objectProperty(deadLetter, 'deadLetterDestination');
    expect(property(destination, 'endpointType')).toBe("'StorageBlob'");
    const container = objectProperty(destination, 'properties');
    expect(property(container, 'resourceId')).toBe('internalStorage.id');
    expect(property(container, 'blobContainerName')).toBe('internalStorage::blobService::deadLetters.name');
    expect(existingName('deadLetters')).toBe('deadLetterContainerName');
    expect(moduleParam('deadLetterContainerName')).toBe('storage::blobService::deadLetters.name');
  });

  it('is created after the topic identity may send and dead-letter', () => {
    expect(property(subscription().body, 'dependsOn')).toBe('[topicQueueSender, topicDeadLetterWriter]');
  });
});

describe('infra/landing.bicep: roles', () => {
  const assignments = resourcesOfType(landing, 'Microsoft.Authorization/roleAssignments');
  const roleDefinition = (roleExpression: string): string =>
    `subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${roleExpression})`;

  it('names the built-in roles by their documented ids', () => {
    // Ids from the Azure built-in roles reference (storage).
    expect(blockAt(landing.code, landing.code.indexOf('var roles = '))).toBe(
      [
        '{',
        "  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'",
        "  storageAccountKeyOperatorServiceRole: '81a9662b-bebf-436f-a333-f67b29880f12'",
        "  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'",
        '}',
      ].join('\n'),
    );
  });

  it('grants the app blob data, key listing and container ACLs on the landing account, and the topic send and dead-letter on the internal account', () => {
    const granted = assignments.map((a) => {
      const props = objectProperty(a.body, 'properties');
      return [property(a.body, 'scope'), property(props, 'roleDefinitionId'), property(props, 'principalId')];
    });
    expect(granted).toEqual([
      ['landingAccount', roleDefinition('roles.storageBlobDataContributor'), 'appPrincipalId'],
      ['landingAccount', roleDefinition('roles.storageAccountKeyOperatorServiceRole'), 'appPrincipalId'],
      ['landingAccount', roleDefinition('containerAclRole.name'), 'appPrincipalId'],
      [
        'internalStorage::queueService::eventsQueue',
        roleDefinition('roles.storageQueueDataMessageSender'),
        'landingTopic.identity.principalId',
      ],
      [
        'internalStorage::blobService::deadLetters',
        roleDefinition('roles.storageBlobDataContributor'),
        'landingTopic.identity.principalId',
      ],
    ]);
    expect(moduleParam('appPrincipalId')).toBe('identity.properties.principalId');
    for (const a of assignments) {
      const props = objectProperty(a.body, 'properties');
      expect(property(props, 'principalType')).toBe("'ServicePrincipal'");
      // Deterministic names: a redeploy finds the same assignment instead of failing on a duplicate.
      const scope = property(a.body, 'scope') ?? '';
      const principal = property(props, 'principalId') === 'appPrincipalId' ? 'appPrincipalId' : 'landingTopic.id';
      const role = /, (.+)\)$/.exec(property(props, 'roleDefinitionId') ?? '')?.[1] ?? '';
      expect(property(a.body, 'name')).toBe(`guid(${scope}.id, ${principal}, ${role})`);
    }
  });

  it('defines the container ACL role with Set Container ACL only, assignable in this resource group', () => {
    // Storage Blob Data Contributor lacks setAcl; Data Owner and Storage Account Contributor hold far more.
    const role = only(resourcesOfType(landing, 'Microsoft.Authorization/roleDefinitions'), 'one custom role');
    const props = objectProperty(role.body, 'properties');
    expect(property(props, 'type')).toBe("'customRole'");
    expect(property(props, 'assignableScopes')).toBe('[resourceGroup().id]');
    const permissions = blockAt(props, props.indexOf('permissions: ['));
    expect([...permissions.matchAll(/'(Microsoft\.[^']+)'/g)].map((m) => m[1])).toEqual([
      'Microsoft.Storage/storageAccounts/blobServices/containers/setAcl/action',
    ]);
    expect(permissions).not.toMatch(/dataActions: \[\s*'|\*/);
    expect(property(role.body, 'name')).toMatch(/^guid\(resourceGroup\(\)\.id, '[\w-]+'\)$/);
    expect(property(props, 'roleName')).toMatch(/\$\{resourceToken\}/);
  });
});

describe('infra: one provisioning pass', () => {
  it('has no webhook, no function key, no deployLandingEvents and no second provisioning', () => {
    expect(bicepFiles()).not.toContain('infra/landing-events.bicep');
    for (const file of files) expect(file.code, file.name).not.toMatch(/WebHook|blobs_extension|deployLandingEvents/);
    expect(main.params.has('deployLandingEvents')).toBe(false);
    expect(mainParametersJson).not.toMatch(/CIPHERFLOW_LANDING_EVENTS|deployLandingEvents/);
    expect(azureYaml).not.toMatch(/CIPHERFLOW_LANDING_EVENTS|azd provision/);
    for (const m of azureYaml.matchAll(/run: \.\/([\w./-]+)/g)) {
      expect(readFileSync(repoPath(m[1] ?? ''), 'utf8'), m[1]).not.toMatch(/azd provision|CIPHERFLOW_LANDING_EVENTS/);
    }
  });

  it('outputs the landing account name and blob endpoint to azd, and nothing about the old container', () => {
    expect(mainOutput('LANDING_STORAGE_ACCOUNT_NAME')).toBe('resources.outputs.landingAccountName');
    expect(mainOutput('LANDING_STORAGE_BLOB_ENDPOINT')).toBe('resources.outputs.landingBlobEndpoint');
    expect(main.outputs).not.toContain('LANDING_CONTAINER');
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
    expect(main.outputs).toContain('SERVICE_CIPHERFLOW_URI');
  });
});

// The app side of the contract. These read functions/ and shared/, which change with the landing
// zones: they fail until the app registers what the template configures.
describe('the app matches the template (functions/, shared/)', () => {
  const appSources = ['functions', 'shared'].flatMap((dir) =>
    readdirSync(repoPath(dir), { recursive: true })
      .map(String)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => readFileSync(repoPath(`${dir}/${name}`), 'utf8')),
  );

  it('registers ingest-landing as a queue trigger on the LANDING_EVENTS_QUEUE queue through AzureWebJobsStorage', () => {
    expect(readFileSync(repoPath('functions/ingest-landing.ts'), 'utf8')).toMatch(/^registerQueue\(ingestLandingJob\);$/m);
    expect(ingestLandingJob).toMatchObject({ name: 'ingest-landing', connection: 'AzureWebJobsStorage' });
    // The queue name from the setting, as the template sets it.
    expect(ingestLandingJob.queueName(loadConfig(appEnv()).triggers)).toBe('landing-events');
  });

  it('registers the landing TTL timer under the name its Disabled setting names', () => {
    expect(expireLandingFilesJob.name).toBe(LANDING_TTL_FUNCTION);
    expect(readFileSync(repoPath('functions/landing-ttl.ts'), 'utf8')).toMatch(/^registerTimer\(expireLandingFilesJob\);$/m);
    const hyphenated = [reconcileCmkJob, rotateSystemKekJob, rotateHpkeKeysJob, retryParkedIngestionJob, expireLandingFilesJob].filter((j) => /-[\w-]*ttl/i.test(j.name));
    expect(hyphenated, 'a hyphenated TTL timer: no Linux app setting can disable it').toEqual([]);
  });

  it('parses the landing settings as the template sets them', () => {
    // toMatchObject, not a typed read: AppConfig's landing part belongs to the app.
    expect(loadConfig(appEnv())).toMatchObject({
      landing: {
        storage: {
          kind: 'identity',
          accountName: 'stdlzabcdefghijklm',
          blobServiceUri: expect.stringMatching(
            /^https:\/\/stdlzabcdefghijklm\.blob\.core\.windows\.net\/?$/,
          ) as unknown,
          accountResourceId: expect.stringMatching(/\/storageAccounts\/stdlzabcdefghijklm$/) as unknown,
        },
        sasDays: 90,
        ttlDays: 7,
      },
    });
  });

  it('reads every landing setting the template sets, and LANDING_CONTAINER no more', () => {
    for (const name of [
      'LandingStorage__accountName',
      'LandingStorage__blobServiceUri',
      'LANDING_ACCOUNT_RESOURCE_ID',
      'LANDING_ZONE_SAS_DAYS',
      'LANDING_ZONE_TTL_DAYS',
    ]) {
      expect(
        appSources.some((text) => text.includes(name)),
        name,
      ).toBe(true);
    }
    expect(appSources.some((text) => /\bLANDING_CONTAINER\b/.test(text))).toBe(false);
  });
});

function paramDefault(file: BicepFile, name: string): string {
  return new RegExp(`^param ${name} \\w+ = '?([^'\\n]*)'?$`, 'm').exec(file.code)?.[1] ?? `<no default for ${name}>`;
}

/** A value resources.bicep passes to landing.bicep. */
function moduleParam(name: string): string | undefined {
  const module = only(
    resources.modules.filter((m) => m.path === 'landing.bicep'),
    'one landing module',
  );
  return entries(objectProperty(module.body, 'params')).get(name);
}

function landingOutput(name: string): string | undefined {
  return new RegExp(`^output ${name} \\w+ = ([^\\n]+)$`, 'm').exec(landing.code)?.[1];
}

function mainOutput(name: string): string | undefined {
  return new RegExp(`^output ${name} \\w+ = ([^\\n]+)$`, 'm').exec(main.code)?.[1];
}

/** The `name:` of an `existing` resource of landing.bicep. */
function existingName(symbol: string): string | undefined {
  const resource = landing.resources.find((r) => r.symbol === symbol && r.existing);
  return resource === undefined ? undefined : property(resource.body, 'name');
}

/** Functions the settings disable (`AzureWebJobs_<name>_Disabled` = 'true'). */
function disabledFunctions(settings: ReadonlyMap<string, string>): string[] {
  return [...settings]
    .map(([key, value]) => [/^AzureWebJobs[._](.+)[._]Disabled$/.exec(key)?.[1], value] as const)
    .filter(([name, value]) => name !== undefined && value === "'true'")
    .map(([name]) => name ?? '');
}

/** The function app's settings as written: name -> Bicep expression. */
function appSettings(): Map<string, string> {
  const site = only(resourcesOfType(resources, 'config'), 'one appsettings resource');
  return entries(objectProperty(site.body, 'properties'));
}

/** The app settings as the app would see them in Azure. */
function appEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of appSettings()) {
    const literal = /^'([^'$]*)'$/.exec(value)?.[1];
    env[key] = literal ?? RESOLVED[value] ?? `<unresolved ${value}>`;
  }
  return env;
}
