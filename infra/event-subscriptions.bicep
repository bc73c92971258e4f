// The two Event Grid subscriptions that start the pipeline: BlobCreated in inbox/ goes to `intake`,
// BlobCreated in edited/ goes to `publish` (both `app.eventGrid` functions).
//
// Why a separate file, deployed by the azd postdeploy hook (infra/hooks/postdeploy.*) rather than with
// main.bicep: the endpoint is of type AzureFunction, addressed by the function's ARM resource id
// (<app id>/functions/<name>). Event Grid resolves it, and fetches the Event Grid extension's system key
// from the app itself, when the subscription is created, so the function must already be deployed and
// indexed; during `azd provision` the app is still empty. The upside of waiting: no webhook URL with a
// `code=` key anywhere, in templates, outputs or deployment history.
//
// Idempotent: redeploying updates the same two subscriptions in place.

targetScope = 'resourceGroup'

@description('Event Grid system topic of the storage account (main.bicep output EVENT_GRID_SYSTEM_TOPIC_NAME).')
param systemTopicName string

@description('Function app with the intake and publish functions (output AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('Storage account holding the dead-letter container (output AZURE_STORAGE_ACCOUNT_NAME).')
param storageAccountName string

@description('Container undeliverable events go to; the sweep replays them (output EVENT_GRID_DEAD_LETTER_CONTAINER).')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes an event is retried before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// Mirrors EVENT_SUBSCRIPTIONS in shared/core/containers.ts (test/infra compares them).
var subscriptions = [
  {
    name: 'inbox-to-intake'
    container: 'inbox'
    functionName: 'intake'
  }
  {
    name: 'edited-to-publish'
    container: 'edited'
    functionName: 'publish'
  }
]

// The Blob Storage operations that complete a blob (BLOB_CREATED_APIS in shared/core/containers.ts). Other
// BlobCreated events (e.g. CreateFile, which Data Lake clients send before any content is flushed) do not
// complete a drop part and are filtered out here, before any delivery is paid for.
var blobCreatedApis = [
  'PutBlob'
  'PutBlockList'
  'CopyBlob'
  'FlushWithClose'
]

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = [
  for s in subscriptions: {
    parent: topic
    name: s.name
    properties: {
      destination: {
        // Keyless delivery to an Event Grid triggered function: no webhook URL, no function key.
        endpointType: 'AzureFunction'
        properties: {
          resourceId: '${functionApp.id}/functions/${s.functionName}'
          // One event per invocation: each drop part is handled on its own.
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
      eventDeliverySchema: 'EventGridSchema'
      filter: {
        includedEventTypes: [
          'Microsoft.Storage.BlobCreated'
        ]
        // Ends with /blobs/ so that a container whose name merely starts with `inbox` is not matched.
        subjectBeginsWith: '/blobServices/default/containers/${s.container}/blobs/'
        advancedFilters: [
          {
            operatorType: 'StringIn'
            key: 'data.api'
            values: blobCreatedApis
          }
        ]
      }
      retryPolicy: {
        maxDeliveryAttempts: maxDeliveryAttempts
        eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
      }
      // Undeliverable events land in the dead-letter container, written with the system topic's own
      // identity (Storage Blob Data Contributor on that container only, see modules/roles.bicep).
      deadLetterWithResourceIdentity: {
        identity: {
          type: 'SystemAssigned'
        }
        deadLetterDestination: {
          endpointType: 'StorageBlob'
          properties: {
            resourceId: storage.id
            blobContainerName: deadLetterContainerName
          }
        }
      }
    }
  }
]

output subscriptionNames array = [for (s, i) in subscriptions: subscription[i].name]
