// The function app's user-assigned managed identity. User-assigned rather than system-assigned so that its
// role assignments can be created (and replicated) before the app first starts: the Flex Consumption host
// needs blob access at startup to fetch its deployment package and to reach AzureWebJobsStorage.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
