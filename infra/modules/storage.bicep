// The pipeline's storage account: its containers and queues, the Functions host's own storage
// (AzureWebJobsStorage) and the Flex Consumption deployment package, all reached with Entra ID only.

param name string
param location string
param tags object = {}

@description('The pipeline\'s containers, by role (main.bicep mirrors CONTAINERS in shared/core/containers.ts).')
param containers object

@description('The pipeline\'s queues, by role (main.bicep mirrors QUEUES in shared/core/containers.ts).')
param queues object

@description('The pipeline\'s tables, by role (main.bicep mirrors TABLES in shared/core/containers.ts): the jobs index.')
param tables object

@description('Container the Flex Consumption platform reads the app\'s deployment package from.')
param deploymentContainerName string

@description('Name of the container that may be made publicly readable (the `published` container).')
param publishedContainerName string

@description('Make blobs in the published container readable anonymously. Every other container stays private.')
param publishedPublicRead bool = false

@description('Days after which drops in inbox/ and model output in edited/ are deleted.')
@minValue(2)
param workingBlobRetentionDays int = 7

@description('Days after which dead-lettered Event Grid events are deleted (the sweep normally replays and removes them much sooner).')
@minValue(1)
param deadLetterRetentionDays int = 14

@description('Container Event Grid dead-letters undeliverable events to.')
param deadLetterContainerName string

@description('Reachable only through private endpoints and trusted Azure services (main.bicep\'s vnetEnabled): the firewall denies every network.')
param privateNetworkOnly bool = false

@description('Days an earlier version of a result in published/ or quarantine/ (replaced by a changed re-drop) is kept.')
@minValue(1)
param resultVersionRetentionDays int = 365

@description('Days a deleted blob or container can still be restored.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 7

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    // Keyless: no account keys, no SAS signed with them, no connection strings. Everything uses Entra ID.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Anonymous read is possible only when asked for, and then only on the published container (below).
    allowBlobPublicAccess: publishedPublicRead
    allowCrossTenantReplication: false
    // With privateNetworkOnly: the firewall denies every network by default and the function app reaches blob
    // and queue through its private endpoints (modules/network.bicep). Public network access stays 'Enabled'
    // on purpose: with 'Disabled', only private endpoint traffic gets in and the trusted-services exception no
    // longer applies, so Event Grid, which does not deliver through private endpoints, could not dead-letter
    // (https://learn.microsoft.com/azure/storage/common/storage-network-security, "trusted Azure services";
    // https://learn.microsoft.com/azure/event-grid/manage-event-delivery). 'Enabled' with defaultAction Deny
    // and bypass AzureServices admits exactly the trusted services with their identity, the topic's among them.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: privateNetworkOnly ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // A changed re-drop publishes over the earlier result; versioning keeps the earlier one retrievable.
    // Versioning is a setting of the whole blob service (learn.microsoft.com/azure/storage/blobs/versioning-overview),
    // so the lifecycle rules below expire the versions of every other container within a day.
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
  }
}

resource pipelineContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in items(containers): {
    parent: blobService
    name: container.value
    properties: {
      publicAccess: (publishedPublicRead && (container.value == publishedContainerName)) ? 'Blob' : 'None'
    }
  }
]

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource pipelineQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in items(queues): {
    parent: queueService
    name: queue.value
  }
]

// The jobs index (shared/app/jobs-index.ts): listings and counts without scanning the ledger.
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource pipelineTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in items(tables): {
    parent: tableService
    name: table.value
  }
]

// Drops and model output are working copies: what matters ends up in published/, quarantine/ or rejected/
// (with its report) and in the job ledger. Delete the working copies after a while; age out dead letters too.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-working-blobs'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containers.inbox}/'
                '${containers.edited}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: workingBlobRetentionDays
                }
              }
            }
          }
        }
        {
          name: 'keep-earlier-results'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containers.published}/'
                '${containers.quarantine}/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: resultVersionRetentionDays
                }
              }
            }
          }
        }
        {
          // Ledger updates, re-uploaded drops, retried outputs: their earlier versions are of no use.
          name: 'expire-working-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containers.inbox}/'
                '${containers.edited}/'
                '${containers.rejected}/'
                '${containers.jobs}/'
                '${deadLetterContainerName}/'
                '${deploymentContainerName}/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
        {
          name: 'age-out-dead-letters'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${deadLetterContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: deadLetterRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    pipelineContainers
  ]
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
