// Azure OpenAI account and the image model deployment. Keyless: local (key) auth is disabled, callers
// use Entra ID (the function app's managed identity, or the developer's `az login`) with the
// Cognitive Services OpenAI User role, which main.bicep assigns on this account only.

@description('Account name; also its custom subdomain, so the endpoint is https://<name>.openai.azure.com/.')
param name string

@description('Region of the account (where the image model is offered; may differ from the function app\'s).')
param location string

param tags object = {}

@description('Name of the model deployment (what the app sends as AZURE_OPENAI_DEPLOYMENT).')
param deploymentName string

param modelName string
param modelVersion string

@description('Reachable only through a private endpoint (main.bicep\'s vnetEnabled): public network access off.')
param privateNetworkOnly bool = false

@description('Deployment capacity in GlobalStandard units (see imageModelCapacity in main.bicep for how that maps to requests per minute).')
@minValue(1)
param capacity int

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  properties: {
    // Required for Entra ID authentication, and gives the account its own endpoint host name.
    customSubDomainName: name
    // No API keys: every call carries an Entra ID token.
    disableLocalAuth: true
    publicNetworkAccess: privateNetworkOnly ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworkOnly ? 'Deny' : 'Allow'
    }
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = {
  parent: account
  name: deploymentName
  sku: {
    name: 'GlobalStandard'
    capacity: capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: modelName
      version: modelVersion
    }
    // Stay on the pinned version (the provenance gate was validated against it) until Azure retires it.
    versionUpgradeOption: 'OnceCurrentVersionExpired'
  }
}

output name string = account.name
output id string = account.id
output endpoint string = account.properties.endpoint
output deploymentName string = deployment.name
