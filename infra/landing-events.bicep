// Routes BlobCreated events of the landing container to the `ingest-landing` blob trigger
// (`source: 'EventGrid'`; Flex Consumption runs blob triggers only this way).
//
// The webhook URL carries the host's `blobs_extension` system key, which the Functions host creates
// when it first starts with an Event Grid blob trigger, and Event Grid validates the endpoint when the
// subscription is created. Both need the deployed, running app, so this module is deployed after
// `azd deploy` (infra/hooks/postdeploy.sh), never in the first provisioning.

param functionAppName string
param systemTopicName string
param landingContainer string

@description('The blob trigger\'s function name (functions/ingest-landing.ts).')
param functionName string = 'ingest-landing'

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

// Read at deployment time and sent only to Event Grid; never an output.
var blobsExtensionKey = listKeys('${functionApp.id}/host/default', '2024-04-01').systemKeys.blobs_extension

resource landingCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: 'landing-${functionName}'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      // Only this container; the trailing slash keeps `landing-old/...` out.
      subjectBeginsWith: '/blobServices/default/containers/${landingContainer}/'
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}
