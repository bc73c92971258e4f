// Flex Consumption plan and the function app: Node.js, HTTPS only, one user-assigned identity for
// everything (host storage, the deployment package, the pipeline's own storage and model calls, telemetry).

param planName string
param appName string
param location string

@description('Tags of every resource here; the site also gets azd-service-name.')
param tags object = {}

@description('The azure.yaml service deployed to this app. azd finds the app by this tag, which must be on the site alone: on the plan too, azd would find two resources for the service.')
param azdServiceName string

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('URL of the blob container holding the deployment package, e.g. https://<account>.blob.core.windows.net/app-package.')
param deploymentContainerUrl string

@description('Application Insights component the host sends telemetry to.')
param applicationInsightsName string

@description('Every app setting except APPLICATIONINSIGHTS_CONNECTION_STRING, which is added here (see below).')
param appSettings object

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

// No 512: a typical edit holds ~20 MB, but a worst-case one (a 50 MB image and mask, MAX_IMAGE_BYTES, each
// also copied into the multipart request) holds ~200 MB; IMAGE_MODEL_CONCURRENCY 4 of those, the Node.js
// runtime and the C2PA verifier's WebAssembly heap do not fit in 512 MB.
@allowed([
  2048
  4096
])
param instanceMemoryMB int

@description('Subnet (delegated to Microsoft.App/environments) the app\'s outbound traffic goes through; empty: none.')
param virtualNetworkSubnetId string = ''

@description('Node.js major version. The code also runs on 20, but Node 20 is end-of-life.')
@allowed([
  '20'
  '22'
])
param nodeVersion string = '22'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': azdServiceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // VNet integration (vnetEnabled): storage, the deployment package and the model are reached through private
    // endpoints. Inbound stays public, so Event Grid can still deliver to the AzureFunction endpoints.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          // The platform fetches the package with the app's identity: no storage connection string.
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // On Flex Consumption the runtime is configured here, not with FUNCTIONS_WORKER_RUNTIME /
      // FUNCTIONS_EXTENSION_VERSION app settings (the platform rejects those).
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: union(appSettings, {
    // The one connection string among the settings. It names the Application Insights resource and its
    // ingestion endpoint; it is not a credential, because the component has local auth disabled
    // (DisableLocalAuth: true in modules/monitoring.bicep): ingestion needs an Entra ID token, which the
    // host gets with APPLICATIONINSIGHTS_AUTHENTICATION_STRING and the Monitoring Metrics Publisher role.
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  })
}

// Deployments go through Entra ID (azd, az, the portal); publishing-profile passwords are switched off.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
