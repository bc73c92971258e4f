// Log Analytics workspace and workspace-based Application Insights, both with local (key) authentication
// disabled: telemetry is accepted only with an Entra ID token, which the function app gets from its
// managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) and the Monitoring Metrics Publisher role.

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object = {}

@description('Days Log Analytics keeps data (30 is included in the ingestion price).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // Queries and ingestion through Entra ID only: no shared workspace keys.
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Entra ID ingestion only. This is also what makes the connection string (an app setting of the
    // function app) a plain resource identifier rather than a credential: without a token nothing is accepted.
    DisableLocalAuth: true
  }
}

// Names only: the connection string is read where it is needed (modules/function-app.bicep), never output.
output applicationInsightsName string = appInsights.name
output applicationInsightsId string = appInsights.id
output logAnalyticsName string = workspace.name
