// The account that hosts the image model deployment: a Microsoft Foundry resource (kind AIServices), and the
// deployment. Keyless: local (key) auth is disabled, callers use Entra ID (the function app's managed identity,
// or the developer's `az login`) with the Cognitive Services OpenAI User role, which main.bicep assigns on this
// account only.
//
// Why AIServices, not OpenAI: Microsoft upgrades eligible Azure OpenAI resources to Foundry resources
// automatically, and the upgraded resource keeps its name, endpoint, managed identity, permissions and v1 API
// access (https://learn.microsoft.com/azure/foundry/how-to/upgrade-azure-openai-auto). A template that still
// says `kind: 'OpenAI'` would then ask ARM to turn the upgraded account back, on the next `azd provision`.
// Declaring the Foundry resource Microsoft's own templates deploy
// (https://learn.microsoft.com/azure/foundry/how-to/create-resource-template) leaves nothing to upgrade: same
// custom subdomain, same keyless auth, same roles, and the same https://<name>.openai.azure.com/ host for
// the images API. An account an earlier version created as kind OpenAI is reported by the preprovision hook
// (infra/preflight/decide.ts) before anything is changed.

@description('Account name; also its custom subdomain, so the images API is at https://<name>.openai.azure.com/.')
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

resource account 'Microsoft.CognitiveServices/accounts@2026-07-01' = {
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
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

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2026-07-01' = {
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
// The Azure OpenAI host of the account (a Foundry resource's `properties.endpoint` is its
// cognitiveservices.azure.com host; the images API is served on the openai.azure.com one, as before).
output endpoint string = 'https://${account.properties.customSubDomainName}.openai.azure.com/'
output deploymentName string = deployment.name
