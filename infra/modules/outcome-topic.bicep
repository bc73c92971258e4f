// The Event Grid custom topic that receives the pipeline's outcome events (one CloudEvents 1.0 event per
// job that ends: com.imagegen-pipeline.job.published, .quarantined, .rejected, .failed). Keyless: local
// (key and SAS) authentication is off, and the function app's identity sends with Entra ID through the
// "EventGrid Data Sender" role on this topic alone
// (https://learn.microsoft.com/azure/event-grid/authenticate-with-microsoft-entra-id).
// Subscribers (a CMS, a chat channel, a review queue) add their own event subscriptions to the topic.

param name string
param location string
param tags object = {}

@description('Principal id of the function app\'s user-assigned identity, which publishes the events.')
param senderPrincipalId string

@description('Reachable only through a private endpoint (main.bicep\'s vnetEnabled): public network access off. Subscribers still get their events: delivery is outbound from Event Grid.')
param privateNetworkOnly bool = false

var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7' // EventGrid Data Sender

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    // The app sends CloudEvents (EventGridPublisherClient, "CloudEvent" schema); subscribers get them as sent.
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: privateNetworkOnly ? 'Disabled' : 'Enabled'
  }
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, senderPrincipalId, eventGridDataSender)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = topic.name
output id string = topic.id
output endpoint string = topic.properties.endpoint
