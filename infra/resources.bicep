// Everything cipherflow runs on, in one resource group. Names come from `resourceToken` so that
// one azd environment maps to one set of resources.

param location string
param tags object
param resourceToken string
param authIssuer string
param authAudience string
param authJwksUrl string
param cmkAppClientId string
param cmkAppName string
param cmkAppUri string

@description('PUBLIC_BASE_URL: https URL clients reach the API at (a custom domain or gateway), the base of the links the API answers. Empty: the function app\'s own https://{defaultHostName}.')
param publicBaseUrl string = ''

@minValue(1)
@description('Days a landed file lives before it is deleted (LANDING_ZONE_TTL_DAYS; the landing account\'s lifecycle rule uses the same value).')
param landingZoneTtlDays int = 7

@minValue(1)
@description('Days a landing zone\'s SAS (its stored access policy) is valid once issued or refreshed (LANDING_ZONE_SAS_DAYS).')
param landingZoneSasDays int = 90

@description('Name of the system KEK in the system vault (SYSTEM_KEY_NAME).')
param systemKeyName string = 'cipherflow-system-kek'

@description('RSA = software-protected key (standard vault); RSA-HSM = HSM-protected key (premium vault).')
@allowed(['RSA', 'RSA-HSM'])
param systemKeyType string = 'RSA'

@description('Flex Consumption instance size.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param storageSku string = 'Standard_LRS'

// Built-in role definition ids (Azure built-in roles reference).
var roles = {
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var functionAppName = 'func-${resourceToken}'
var deploymentContainer = 'app-package'
// Event Grid puts one message per file landed in a zone here; ingest-landing reads it
// (LANDING_EVENTS_QUEUE). The host creates `landing-events-poison` itself.
var landingEventsQueue = 'landing-events'
var landingEventsDeadLetter = 'landing-events-deadletter'

// --- Identity: the one principal the app acts as (storage, Key Vault, Application Insights). ---

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${resourceToken}'
  location: location
  tags: tags
}

// --- Internal storage: host state, the landing-events queue, the app's tables and blobs, and the
// deployment package. Customers' files land in the landing account instead (landing.bicep). ---

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: storageSku }
  properties: {
    allowSharedKeyAccess: false // every client, the host included, authenticates with Entra ID
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: { enabled: true, days: 7 }
      containerDeleteRetentionPolicy: { enabled: true, days: 7 }
    }

    resource packages 'containers' = {
      name: deploymentContainer
    }

    // Events Event Grid gave up on after a day of retries, as blobs (one JSON event each).
    resource deadLetters 'containers' = {
      name: landingEventsDeadLetter
    }
  }

  resource queueService 'queueServices' = {
    name: 'default'

    resource landingEvents 'queues' = {
      name: landingEventsQueue
    }
  }
}

// --- The landing account, its lifecycle rule and its Event Grid subscription ---

module landing 'landing.bicep' = {
  name: 'cipherflow-landing'
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    storageSku: storageSku
    ttlDays: landingZoneTtlDays
    appPrincipalId: identity.properties.principalId
    internalStorageName: storage.name
    eventsQueueName: storage::queueService::landingEvents.name
    deadLetterContainerName: storage::blobService::deadLetters.name
  }
}

// --- Key Vault: the system KEK. Purge protection makes a deleted key recoverable for 90 days:
// losing the KEK would make every envelope-encrypted object unreadable. ---

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${take(resourceToken, 13)}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: systemKeyType == 'RSA-HSM' ? 'premium' : 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true // cannot be turned off again
    publicNetworkAccess: 'Enabled'
  }
}

// ARM creates the first version only; a redeploy never rotates or changes an existing key.
resource systemKek 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: systemKeyName
  properties: {
    kty: systemKeyType
    keySize: 3072
    keyOps: ['wrapKey', 'unwrapKey']
    attributes: { enabled: true }
  }
}

// --- Monitoring ---

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true // telemetry is accepted only with an Entra token (Monitoring Metrics Publisher)
  }
}

// --- The function app on Flex Consumption ---

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true } // Linux
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': 'cipherflow' }) // azure.yaml's service
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: { minTlsVersion: '1.2' }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identity.id }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: { name: 'node', version: '22' }
    }
  }
  // The host reads its storage as soon as the app exists: grant the roles first.
  dependsOn: [storage::blobService::packages, storageAccess]

  // Flex Consumption sets FUNCTIONS_WORKER_RUNTIME and the runtime version itself (functionAppConfig);
  // they must not be app settings. No setting here is a secret.
  resource appSettings 'config' = {
    name: 'appsettings'
    properties: {
      // Host and app storage through the user-assigned identity (no connection string).
      AzureWebJobsStorage__accountName: storage.name
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identity.properties.clientId
      // DefaultAzureCredential picks the user-assigned identity (Key Vault, and the app's own storage clients).
      AZURE_CLIENT_ID: identity.properties.clientId
      // Our tenant: a Key Vault in any other tenant (a customer's CMK) is reached as the CMK app.
      AZURE_TENANT_ID: tenant().tenantId
      APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
      CIPHERFLOW_ENV: 'production'
      SYSTEM_KEY_VAULT_URL: vault.properties.vaultUri
      SYSTEM_KEY_NAME: systemKek.name
      // The landing account: its data through the identity; its key read at run time by ARM
      // listKeys on LANDING_ACCOUNT_RESOURCE_ID, never set here.
      LandingStorage__accountName: landing.outputs.accountName
      LandingStorage__blobServiceUri: landing.outputs.blobEndpoint
      LANDING_ACCOUNT_RESOURCE_ID: landing.outputs.accountId
      LANDING_EVENTS_QUEUE: storage::queueService::landingEvents.name
      LANDING_ZONE_SAS_DAYS: string(landingZoneSasDays)
      LANDING_ZONE_TTL_DAYS: string(landingZoneTtlDays)
      // The app's own TTL timer is for local runs; here the lifecycle rule deletes. The function's
      // name has no hyphen because a Linux app setting cannot name one ('-' is refused), and the
      // host reads the underscore form of AzureWebJobs.<name>.Disabled on Linux.
      AzureWebJobs_landing_ttl_Disabled: 'true'
      AUTH_ISSUER: authIssuer
      AUTH_AUDIENCE: authAudience
      AUTH_JWKS_URL: authJwksUrl
      CMK_APP_CLIENT_ID: cmkAppClientId
      CMK_APP_NAME: cmkAppName
      CMK_APP_URI: cmkAppUri
      CMK_RECONCILE_SCHEDULE: '0 */1 * * * *'
      // Links in answers start with this, never with the request's Host header (which the caller writes).
      PUBLIC_BASE_URL: empty(publicBaseUrl) ? 'https://${functionApp.properties.defaultHostName}' : publicBaseUrl
      // glibc: keep freed megabyte buffers out of the RSS, and the freed small ones in two arenas
      // rather than one per thread (local/runtime-process.ts, APP_PROCESS_ENV).
      MALLOC_MMAP_THRESHOLD_: '131072'
      MALLOC_ARENA_MAX: '2'
    }
  }
}

// --- Role assignments of the identity (names are deterministic, so redeploys are idempotent). ---

// get, wrapKey, unwrapKey on the system vault's keys: all the app does with the KEK. No create, no
// decrypt, no secrets.
resource kekUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultCryptoServiceEncryptionUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoServiceEncryptionUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The storage roles the Functions docs name for an identity-based host and queue trigger: Blob Data
// Owner (host, the deployment package, the app's containers) and Queue Data Contributor (the
// landing-events queue and its poison queue); Table Data Contributor for the app's tables.
var storageRoles = [roles.storageBlobDataOwner, roles.storageQueueDataContributor, roles.storageTableDataContributor]

resource storageAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(storage.id, identity.id, role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppName string = functionApp.name
output functionAppUri string = 'https://${functionApp.properties.defaultHostName}'
output storageAccountName string = storage.name
output landingAccountName string = landing.outputs.accountName
output landingBlobEndpoint string = landing.outputs.blobEndpoint
output systemKeyVaultUrl string = vault.properties.vaultUri
output systemKeyName string = systemKek.name
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
