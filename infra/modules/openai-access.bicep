// Inference on one more Azure OpenAI account of the deployment pool (main.bicep's openAiExtraRegions):
// the same Cognitive Services OpenAI User assignments roles.bicep makes on the first account, scoped to
// this account only.

param openAiAccountName string

@description('Principal id of the function app\'s user-assigned identity.')
param functionPrincipalId string

@description('Optional: the deploying user (or CI principal). Empty: no assignment.')
param developerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param developerPrincipalType string = 'User'

var cognitiveServicesOpenAiUser = '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd' // Cognitive Services OpenAI User

resource openAi 'Microsoft.CognitiveServices/accounts@2026-07-01' existing = {
  name: openAiAccountName
}

resource functionOpenAi 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAi.id, functionPrincipalId, cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAiUser)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource developerOpenAi 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(developerPrincipalId)) {
  name: guid(openAi.id, developerPrincipalId, cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAiUser)
    principalId: developerPrincipalId
    principalType: developerPrincipalType
  }
}
