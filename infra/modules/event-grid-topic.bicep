// The Event Grid system topic for the storage account's events. Its system-assigned identity writes
// undeliverable events to the dead-letter container (deadLetterWithResourceIdentity), so no storage key
// or SAS is involved. The two subscriptions are created after the code is deployed, by the azd
// postdeploy hook (infra/event-subscriptions.bicep): an AzureFunction endpoint must name a function that
// already exists in the app.

param name string

@description('Must be the storage account\'s region: a system topic lives next to its source.')
param location string

param tags object = {}
param storageAccountId string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
output principalId string = topic.identity.principalId
