// Landing zones (as Adobe's Data Landing Zone): a storage account of their own, holding one
// container per org and sandbox (`dlz-` + 26 base32 characters) that the app creates at run time.
// A tenant uploads with a container SAS bound to a stored access policy on its container, signed
// with this account's key: so this, and only this, account allows shared keys. Files live
// `ttlDays` after upload. Each upload is announced by Event Grid on the `landing-events` queue of
// the internal account, which the `ingest-landing` queue trigger reads (docs/design.md, "Landing
// zones").

param location string
param tags object
param resourceToken string
param storageSku string

@minValue(1)
@description('Days a landed file lives (LANDING_ZONE_TTL_DAYS): the lifecycle rule deletes it after that.')
param ttlDays int

@description('Principal id of the app\'s user-assigned identity.')
param appPrincipalId string

@description('The internal (Entra-only) storage account that holds the events queue and the dead letters.')
param internalStorageName string

@description('Queue of the internal account that ingest-landing reads (LANDING_EVENTS_QUEUE).')
param eventsQueueName string

@description('Container of the internal account for events Event Grid could not deliver.')
param deadLetterContainerName string

// Built-in role definition ids (Azure built-in roles reference, storage).
var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageAccountKeyOperatorServiceRole: '81a9662b-bebf-436f-a333-f67b29880f12'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
}

resource landingAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stdlz${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2' // Event Grid blob events and lifecycle management need general-purpose v2
  sku: { name: storageSku }
  properties: {
    // A service SAS is signed with an account key, and the account refuses it when shared keys are
    // off. The app still reaches this account's data with its identity; the key only signs.
    allowSharedKeyAccess: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true // the portal and tools use Entra ID here, not the key
    isHnsEnabled: false // flat namespace: a zone is a container, and SAS scopes stay container-wide
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      // Off: a file must be gone TTL days after upload. Soft delete would keep every deleted file
      // (by the lifecycle rule, the tenant or the app) for its retention days more, and a zone's
      // container after the app deletes it.
      deleteRetentionPolicy: { enabled: false }
      containerDeleteRetentionPolicy: { enabled: false }
      isVersioningEnabled: false
    }
  }

  // The account holds zones only, so the rule covers all of it. Lifecycle runs about once a day:
  // a file goes between TTL and TTL + ~1 day after upload.
  resource lifecycle 'managementPolicies' = {
    name: 'default'
    properties: {
      policy: {
        rules: [
          {
            name: 'deleteAfterTtl'
            enabled: true
            type: 'Lifecycle'
            definition: {
              // Append blobs too: a tenant's SAS could create one. (Page blobs are outside lifecycle
              // management: docs/design.md, "Landing zones".)
              filters: { blobTypes: ['blockBlob', 'appendBlob'] }
              actions: {
                baseBlob: {
                  // "After upload": an overwritten file counts from its new upload, as the local timer does.
                  delete: { daysAfterModificationGreaterThan: ttlDays }
                }
                snapshot: {
                  delete: { daysAfterCreationGreaterThan: ttlDays }
                }
              }
            }
          }
        ]
      }
    }
  }
}

// --- The app's identity on the landing account ---

// Create and delete zone containers; list, read and delete landed files.
resource appBlobData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(landingAccount.id, appPrincipalId, roles.storageBlobDataContributor)
  scope: landingAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// listkeys/action: the app reads the signing key at run time (ARM listKeys), so no key is ever in
// an app setting, an output or the deployment history. (The role also holds regeneratekey/action,
// which the app never calls.)
resource appKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(landingAccount.id, appPrincipalId, roles.storageAccountKeyOperatorServiceRole)
  scope: landingAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageAccountKeyOperatorServiceRole)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Set Container ACL (the zone's stored access policy) needs containers/setAcl/action, which Storage
// Blob Data Contributor lacks. The built-in roles that have it hold much more: Storage Blob Data
// Owner (all container actions, immutability policies and legal holds included) and Storage Account
// Contributor (the whole account). So a custom role with Set Container ACL only (the app writes a
// zone's one policy and never reads it back).
resource containerAclRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'cipherflow-landing-container-acl')
  properties: {
    roleName: 'cipherflow landing container ACL (${resourceToken})' // role names are unique per tenant
    description: 'Replace the stored access policies of blob containers (Set Container ACL).'
    type: 'customRole'
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/setAcl/action'
        ]
        notActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

resource appContainerAcl 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(landingAccount.id, appPrincipalId, containerAclRole.name)
  scope: landingAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', containerAclRole.name)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- Event Grid: every file created in a zone becomes a message on the landing-events queue ---

resource internalStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: internalStorageName

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource eventsQueue 'queues' existing = {
      name: eventsQueueName
    }
  }

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource deadLetters 'containers' existing = {
      name: deadLetterContainerName
    }
  }
}

// The internal account takes Entra tokens only, so Event Grid delivers as the topic's own identity.
resource landingTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: 'evgt-dlz-${resourceToken}'
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: landingAccount.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Scoped to the one queue and the one container, not the account: the topic may add messages to
// landing-events and write dead letters, nothing else.
resource topicQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(internalStorage::queueService::eventsQueue.id, landingTopic.id, roles.storageQueueDataMessageSender)
  scope: internalStorage::queueService::eventsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
    principalId: landingTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource topicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(internalStorage::blobService::deadLetters.id, landingTopic.id, roles.storageBlobDataContributor)
  scope: internalStorage::blobService::deadLetters
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: landingTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// No function key and no endpoint validation (a queue is not a webhook), so this is created in the
// first provisioning. Event Grid retries for a day, then dead-letters; the queue trigger adds its
// own retries (dequeue count) and poison queue.
resource zoneBlobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: landingTopic
  name: 'zone-blob-created'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      // Zone containers only: the app names every zone `dlz-` + 26 base32 characters.
      subjectBeginsWith: '/blobServices/default/containers/dlz-'
    }
    deliveryWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: internalStorage.id
          queueName: internalStorage::queueService::eventsQueue.name
          // A message that outlives its file would point at a deleted blob.
          queueMessageTimeToLiveInSeconds: ttlDays * 86400
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: internalStorage.id
          blobContainerName: internalStorage::blobService::deadLetters.name
        }
      }
    }
  }
  // Deliveries start at once; the roles must exist first (they may still take minutes to apply,
  // which the retry policy covers).
  dependsOn: [topicQueueSender, topicDeadLetterWriter]
}

output accountName string = landingAccount.name
output accountId string = landingAccount.id
output blobEndpoint string = landingAccount.properties.primaryEndpoints.blob
