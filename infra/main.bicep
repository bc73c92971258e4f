// imagegen-pipeline on Azure, keyless and least privilege: `azd up` provisions this file, deploys the
// code to the function app, then runs infra/hooks/postdeploy.* to create the Event Grid subscriptions
// (infra/event-subscriptions.bicep) once the functions they deliver to exist.
//
// Subscription scope with its own resource group, as azd templates do: `azd down` deletes the group.

targetScope = 'subscription'

// ---- Environment ---------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('azd environment name; part of every resource name and the resource group name.')
param environmentName string

@minLength(1)
@description('Region of the resource group, storage, function app, monitoring and Event Grid.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// The regions offering the image models on GlobalStandard: the union of `regions` in shared/core/model-catalog.ts
// (test/infra/catalog.test.ts keeps them equal). The preprovision hook asks Azure before anything is created.
@description('Region of the Azure OpenAI account: one where the image model is offered (may differ from `location`).')
@allowed([
  'eastus2'
  'polandcentral'
  'swedencentral'
  'uaenorth'
  'westus3'
])
param openAiLocation string = 'eastus2'

@description('More Azure OpenAI regions for the deployment pool, as region:capacity pairs separated by commas (e.g. swedencentral:3,polandcentral:3): one account and image model deployment each, beside the one in openAiLocation, and the app spreads edits over all of them by quota (IMAGE_MODEL_POOL). Each region must offer the model; the preprovision hook checks every one. Empty: one region.')
param openAiExtraRegions string = ''

@description('Regions a drop\'s image may be sent to (data residency), comma-separated; empty: every region of the pool.')
param allowedRegions string = ''

@description('Resource group name; empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID). It gets the roles needed to run the pipeline from a laptop against these resources. Empty: no assignments.')
param principalId string = ''

@description('Kind of principalId: the preprovision hook detects it (a user signed in with azd/az, or the service principal of the CI workflow) and sets AZURE_PRINCIPAL_TYPE; a role assignment with the wrong kind fails with UnmatchedPrincipalType.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// ---- The model -----------------------------------------------------------------------------------
//
// Names, versions, requests per minute per capacity unit and the default model are those of
// shared/core/model-catalog.ts (IMAGE_MODELS, DEFAULT_IMAGE_MODEL); test/infra/catalog.test.ts keeps them in
// step. A retired or preview model stays listed here (Bicep cannot know today's date): the preprovision
// hook (infra/hooks/preprovision.*) refuses it, naming its retirement date and replacement, before
// anything is deployed.

@description('Image model to deploy (a name from shared/core/model-catalog.ts).')
@allowed([
  'gpt-image-1'
  'gpt-image-1-mini'
  'gpt-image-1.5'
  'gpt-image-2'
])
param imageModelName string = 'gpt-image-2'

@description('Model version; by default the one that goes with imageModelName.')
@allowed([
  '2025-04-15'
  '2025-10-06'
  '2025-12-16'
  '2026-04-21'
])
param imageModelVersion string = {
  'gpt-image-1': '2025-04-15'
  'gpt-image-1-mini': '2025-10-06'
  'gpt-image-1.5': '2025-12-16'
  'gpt-image-2': '2026-04-21'
}[imageModelName]

@description('Name of the model deployment (the app\'s AZURE_OPENAI_DEPLOYMENT).')
param imageModelDeploymentName string = imageModelName

@description('GlobalStandard capacity units of the deployment. A new subscription\'s default quota for the gpt-image models is 9 requests per minute, i.e. 3 units.')
@minValue(1)
param imageModelCapacity int = 3

@description('Requests per minute one capacity unit of the image model allows; by default the catalog\'s figure for imageModelName.')
@minValue(1)
param requestsPerMinutePerCapacityUnit int = {
  'gpt-image-1': 3
  'gpt-image-1-mini': 3
  'gpt-image-1.5': 3
  'gpt-image-2': 3
}[imageModelName]

// IMAGE_MODEL_RPM is derived, never set by hand: the pacer must spend exactly the deployment's quota.
// Defaults: 3 units × 3 requests/minute per unit = 9 requests/minute, the default quota.
var imageModelRpm = imageModelCapacity * requestsPerMinutePerCapacityUnit

// The parameter is a string because azd's parameter files substitute environment variables as strings
// (AZURE_OPENAI_EXTRA_REGIONS); the preprovision hook has refused a malformed one before this runs.
var extraOpenAiRegions = map(filter(split(openAiExtraRegions, ','), entry => !empty(trim(entry))), entry => {
  location: toLower(trim(split(entry, ':')[0]))
  capacity: int(trim(split(entry, ':')[1]))
})

@description('Azure OpenAI data-plane API version for images/edits. Empty: the GA v1 route ({endpoint}/openai/v1/images/edits, no api-version); a dated version such as 2025-04-01-preview selects /openai/deployments/{deployment}/images/edits?api-version=....')
param openAiApiVersion string = ''

// ---- Function app sizing -------------------------------------------------------------------------

// The bottleneck is the model's quota, not CPU, and the app-wide pacer (IMAGE_MODEL_RPM, one schedule shared
// by every instance through the job ledger in storage) is what protects it: a job whose slot is far off goes
// back on the queue, invisible, instead of holding an instance. At the default 9 requests/minute and 30-90 s
// per images/edits call, at most about 14 calls are in flight, which two to four instances carry at
// IMAGE_MODEL_CONCURRENCY 4; the scale controller adds instances for work that is there, not up to this cap.
// The cap only bounds a burst of intake and publish (short, CPU-bound C2PA checks) and the memory the app may
// take from the region's Flex Consumption quota (40 × 2048 MB = 80 GB of 512 GB).
//
// Default 40: the one value both of Microsoft's statements allow. "Limit scale-out"
// (https://learn.microsoft.com/azure/azure-functions/event-driven-scaling#limit-scale-out) now gives 1 as
// the lowest maximum instance count; the Flex Consumption plan page's considerations and the Lambda migration
// guide (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan) give 40 as the lowest, 1000
// as the highest. Where the platform still applies 40, a lower value fails provisioning on
// functionAppConfig.scaleAndConcurrency.maximumInstanceCount.
@description('Most instances per function group (see the sizing note above). Below 40 may be refused where the platform applies the older lowest maximum.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance. 2048 MB fits two 50 MB inputs, the model\'s output and the C2PA verifier with room to spare; 512 MB does not (see modules/function-app.bicep).')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

// ---- The web console -----------------------------------------------------------------------------
//
// The app signs people in itself, whatever the hosting plan offers (earlier versions of Microsoft's Flex
// Consumption page listed built-in authentication, EasyAuth, as unsupported there; see README.md, "The web
// console"): OpenID Connect ID tokens from this tenant, for the app registration below, whose app roles decide
// who may submit (Console.Submit) or only view (Console.View). README.md, "The web console", creates the
// registration from infra/console-app-roles.json.

@description('Client id of the web console\'s Entra ID app registration. Empty: the console refuses every request on Azure.')
param consoleClientId string = ''

// ---- Network -------------------------------------------------------------------------------------

@description('Network isolation: integrate the function app with a new virtual network and reach storage (blob, queue), every Foundry account of the pool, Key Vault and the outcome topic through private endpoints; storage keeps only the trusted-services exception (Event Grid dead-lettering). Off by default; see "Deploy to Azure" in README.md for what changes from a laptop. Needs the Microsoft.App resource provider, which the preprovision hook registers.')
param vnetEnabled bool = false

// ---- Key Vault -----------------------------------------------------------------------------------

@description('Days a deleted Key Vault stays recoverable (7-90). Its name (kv-<token>) stays taken meanwhile: `azd down --purge` frees it.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionDays int = 7

@description('Key Vault purge protection. Off by default: with it on, `azd down` then `azd up` in the same environment waits for keyVaultSoftDeleteRetentionDays. Irreversible once on.')
param keyVaultPurgeProtection bool = false

// ---- Storage -------------------------------------------------------------------------------------

@description('Make blobs in the `published` container anonymously readable. Off by default; every other container is always private.')
param publishedPublicRead bool = false

@description('Days after which inbox/ drops and edited/ model output are deleted by the lifecycle policy.')
@minValue(2)
param workingBlobRetentionDays int = 7

@description('Days after which dead-lettered events are deleted (the sweep replays and removes them sooner).')
@minValue(1)
param deadLetterRetentionDays int = 14

// ---- Operations (modules/operations.bicep) --------------------------------------------------------------

@description('Where Azure Monitor e-mails alerts (failures, quarantines, dead letters, backlog, breakers, owed events); empty: no action group.')
param alertEmail string = ''

@description('Alert when more than this share (percent) of the last hour\'s jobs failed or were quarantined.')
@minValue(1)
@maxValue(100)
param alertFailedSharePercent int = 20

@description('Alert when the oldest queued job has waited longer than this (minutes).')
@minValue(5)
param alertBacklogMinutes int = 30

// ---- Pipeline settings (defaults are those of shared/core/config.ts) -----------------------------------

@description('Model calls in flight at once per instance.')
@minValue(1)
@maxValue(256)
param imageModelConcurrency int = 4

@description('Timeout of one model call.')
param imageModelTimeout string = '5m'

@description('Model attempts per job for 5xx, resets and timeouts (429s are not counted).')
@minValue(1)
@maxValue(20)
param imageModelMaxAttempts int = 4

@description('Prompt for drops with neither a sidecar prompt nor a `prompt` metadata value.')
param defaultPrompt string = 'Fill the masked area so that it blends naturally with the rest of the image.'

@allowed([
  'auto'
  '1024x1024'
  '1024x1536'
  '1536x1024'
])
param defaultSize string = 'auto'

@allowed([
  'low'
  'medium'
  'high'
])
param defaultQuality string = 'medium'

@allowed([
  'png'
  'jpeg'
])
param defaultOutputFormat string = 'png'

@description('Largest image or mask accepted, in bytes (the service limit is 50 MB).')
@minValue(1)
@maxValue(52428800)
param maxImageBytes int = 52428800

@description('Largest width or height accepted, in pixels.')
@minValue(16)
@maxValue(65535)
param maxImageDimension int = 8192

@description('How long a drop with image and mask but no sidecar waits for a late sidecar.')
param dropSettle string = '5s'

@description('How long a part waits for its partner before the sweep rejects the drop as incomplete.')
param dropDeadline string = '24h'

@description('How long a finished job stays in the ledger and the jobs index after its last change (the sweep deletes older ones).')
param jobRetention string = '365d'

@description('NCRONTAB schedule of the sweep (six fields, seconds first).')
param sweepSchedule string = '0 */1 * * * *'

@description('Comma-separated softwareAgent names that may have made a published image.')
param allowedSoftwareAgents string = 'Azure OpenAI ImageGen'

@description('Comma-separated IPTC digital source types accepted on that action.')
param allowedSourceTypes string = 'trainedAlgorithmicMedia,compositeWithTrainedAlgorithmicMedia'

@allowed([
  'active'
  'chain'
])
param agentScope string = 'active'

@description('Comma-separated code@assertion-label c2pa failures that do not quarantine.')
param toleratedFailures string = 'claim.malformed@c2pa.soft-binding'

@description('Clock skew allowed when checking the signing time against the job\'s edit window.')
param signingTimeSkew string = '5m'

// ---- Names ---------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

@description('What a drop publishes unless its sidecar says: composite (full size, signed by the publisher) or model.')
@allowed([
  'composite'
  'model'
])
param outputMode string = 'composite'

@description('The publisher certificate chain for the Key Vault key (leaf first, root last): PEM text or a pinned blob URL. Empty: composites are not made until it is set.')
param publisherCertChain string = ''

var names = {
  resourceGroup: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  identity: 'id-func-${resourceToken}'
  logAnalytics: 'log-${resourceToken}'
  applicationInsights: 'appi-${resourceToken}'
  storage: 'st${resourceToken}'
  openAi: 'oai-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  eventGridTopic: 'evgt-${resourceToken}'
  outcomeTopic: 'evgt-outcomes-${resourceToken}'
  vnet: 'vnet-${resourceToken}'
  keyVault: 'kv-${resourceToken}'
}

// The containers, table and queues the code uses: the same names as CONTAINERS, TABLES and QUEUES in
// shared/core/containers.ts (test/infra fails when they drift apart).
var containers = {
  inbox: 'inbox'
  edited: 'edited'
  published: 'published'
  quarantine: 'quarantine'
  rejected: 'rejected'
  jobs: 'jobs'
  deadLetter: 'eventgrid-deadletter'
}

var tables = {
  jobsIndex: 'jobsindex'
}

var queues = {
  edit: 'edit-jobs'
  editPoison: 'edit-jobs-poison'
}

// Where the Flex Consumption platform keeps the app's deployment package.
var deploymentContainerName = 'app-package'

// ---- Resources -----------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

module operations 'modules/operations.bicep' = {
  name: 'operations'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
    failedSharePercent: alertFailedSharePercent
    backlogMinutes: alertBacklogMinutes
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    containers: containers
    queues: queues
    tables: tables
    deploymentContainerName: deploymentContainerName
    publishedContainerName: containers.published
    publishedPublicRead: publishedPublicRead
    workingBlobRetentionDays: workingBlobRetentionDays
    deadLetterContainerName: containers.deadLetter
    deadLetterRetentionDays: deadLetterRetentionDays
    privateNetworkOnly: vnetEnabled
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  scope: rg
  params: {
    name: names.openAi
    location: openAiLocation
    tags: tags
    deploymentName: imageModelDeploymentName
    modelName: imageModelName
    modelVersion: imageModelVersion
    capacity: imageModelCapacity
    privateNetworkOnly: vnetEnabled
  }
}

// The pool's other regions: the same model and deployment name, each with its own account and quota.
module openAiExtra 'modules/openai.bicep' = [for region in extraOpenAiRegions: {
  name: 'openai-${region.location}'
  scope: rg
  params: {
    name: '${names.openAi}-${region.location}'
    location: region.location
    tags: tags
    deploymentName: imageModelDeploymentName
    modelName: imageModelName
    modelVersion: imageModelVersion
    capacity: region.capacity
    privateNetworkOnly: vnetEnabled
  }
}]

module openAiExtraAccess 'modules/openai-access.bicep' = [for (region, i) in extraOpenAiRegions: {
  name: 'openai-access-${region.location}'
  scope: rg
  params: {
    openAiAccountName: openAiExtra[i].outputs.name
    functionPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
    developerPrincipalType: principalType
  }
}]

// IMAGE_MODEL_POOL: every region's deployment with its quota; empty with one region, where the
// single-deployment settings say the same. The endpoint is the account's custom subdomain.
var openAiPool = concat(
  [
    {
      endpoint: 'https://${names.openAi}.openai.azure.com/'
      deployment: imageModelDeploymentName
      model: imageModelName
      rpm: imageModelRpm
      region: openAiLocation
    }
  ],
  map(extraOpenAiRegions, region => {
    endpoint: 'https://${names.openAi}-${region.location}.openai.azure.com/'
    deployment: imageModelDeploymentName
    model: imageModelName
    rpm: region.capacity * requestsPerMinutePerCapacityUnit
    region: region.location
  })
)

module network 'modules/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: names.vnet
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
    // Every pool account, first region first: each gets its private endpoint.
    // (A for expression, not map(): Bicep refuses a lambda variable as a module collection's index, BCP247.)
    aiAccountIds: concat([openAi.outputs.id], [for (region, i) in extraOpenAiRegions: openAiExtra[i].outputs.id])
    keyVaultId: keyVault.outputs.id
    outcomeTopicId: outcomeTopic.outputs.id
  }
}

module eventGridTopic 'modules/event-grid-topic.bicep' = {
  name: 'event-grid-topic'
  scope: rg
  params: {
    name: names.eventGridTopic
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
  }
}

// Outcome events: a custom topic the app sends one CloudEvent to per job that ends (shared/events/).
module outcomeTopic 'modules/outcome-topic.bicep' = {
  name: 'outcome-topic'
  scope: rg
  params: {
    name: names.outcomeTopic
    location: location
    tags: tags
    senderPrincipalId: identity.outputs.principalId
    privateNetworkOnly: vnetEnabled
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    openAiAccountName: openAi.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    deadLetterContainerName: containers.deadLetter
    functionPrincipalId: identity.outputs.principalId
    eventGridPrincipalId: eventGridTopic.outputs.principalId
    developerPrincipalId: principalId
    developerPrincipalType: principalType
  }
}

// The app settings: exactly the settings shared/core/config.ts lists for Azure (test/infra compares the two),
// except APPLICATIONINSIGHTS_CONNECTION_STRING, which modules/function-app.bicep adds from the component.
// No keys and no connection strings: storage, the model and telemetry are reached with the identity.
var appSettings = {
  // The Functions host's storage (and the pipeline's), identity-based.
  AzureWebJobsStorage__blobServiceUri: storage.outputs.blobEndpoint
  AzureWebJobsStorage__queueServiceUri: storage.outputs.queueEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // The identity DefaultAzureCredential picks in the code (storage and Azure OpenAI).
  AZURE_CLIENT_ID: identity.outputs.clientId
  // Telemetry with Entra ID (the component accepts nothing else).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  // The model, and the pool of regions (IMAGE_MODEL_POOL) when there is more than one.
  AZURE_OPENAI_ENDPOINT: openAi.outputs.endpoint
  AZURE_OPENAI_DEPLOYMENT: imageModelDeploymentName
  AZURE_OPENAI_API_VERSION: openAiApiVersion
  IMAGE_MODEL: imageModelName
  IMAGE_MODEL_RPM: string(imageModelRpm)
  IMAGE_MODEL_POOL: empty(extraOpenAiRegions) ? '' : string(openAiPool)
  ALLOWED_REGIONS: allowedRegions
  IMAGE_MODEL_CONCURRENCY: string(imageModelConcurrency)
  IMAGE_MODEL_TIMEOUT: imageModelTimeout
  IMAGE_MODEL_MAX_ATTEMPTS: string(imageModelMaxAttempts)
  // The drop.
  DEFAULT_PROMPT: defaultPrompt
  DEFAULT_SIZE: defaultSize
  DEFAULT_QUALITY: defaultQuality
  DEFAULT_OUTPUT_FORMAT: defaultOutputFormat
  MAX_IMAGE_BYTES: string(maxImageBytes)
  MAX_IMAGE_DIMENSION: string(maxImageDimension)
  DROP_SETTLE: dropSettle
  DROP_DEADLINE: dropDeadline
  JOB_RETENTION: jobRetention
  SWEEP_SCHEDULE: sweepSchedule
  // The provenance gate. Production trusts the Microsoft roots built into the code and nothing else.
  EXTRA_TRUST_ANCHORS: ''
  ALLOWED_SOFTWARE_AGENTS: allowedSoftwareAgents
  ALLOWED_SOURCE_TYPES: allowedSourceTypes
  AGENT_SCOPE: agentScope
  TOLERATED_FAILURES: toleratedFailures
  SIGNING_TIME_SKEW: signingTimeSkew
  // The web console's sign-in (shared/adapters/http/sign-in.ts): identifiers, not secrets; the flow needs none.
  CONSOLE_TENANT_ID: tenant().tenantId
  CONSOLE_CLIENT_ID: consoleClientId
  CONSOLE_MAX_TRANSFERS: '4'
  // Full-size results, signed with the publisher's key in Key Vault (the key never leaves the vault).
  OUTPUT_MODE: outputMode
  // A published composite keeps the photo's EXIF without its GPS position (location privacy).
  STRIP_GPS: 'true'
  PUBLISHER_CERT_CHAIN: publisherCertChain
  PUBLISHER_SIGNER: keyVault.outputs.signerUri
  // Outcome events, sent with the identity (EventGrid Data Sender on the topic): no key.
  OUTCOME_EVENTS_TOPIC_ENDPOINT: outcomeTopic.outputs.endpoint
  OUTCOME_EVENTS_SOURCE: '/imagegen-pipeline/${names.functionApp}'
  OUTCOME_EVENT_MARKER_GRACE: '15m'
  OUTCOME_EVENT_MAX_ATTEMPTS: '10'
  OUTCOME_EVENT_RETRY_BUDGET: '30s'
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    functionPrincipalId: identity.outputs.principalId
    softDeleteRetentionDays: keyVaultSoftDeleteRetentionDays
    purgeProtection: keyVaultPurgeProtection
    privateNetworkOnly: vnetEnabled
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    planName: names.plan
    appName: names.functionApp
    location: location
    tags: tags
    // azd finds the app to deploy the `pipeline` service (azure.yaml) to by this tag, set on the site only.
    azdServiceName: 'pipeline'
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    // ARM evaluates only the branch the condition picks, so the network's output is read only when it exists.
    // Using it also makes the app wait for the private endpoints and their DNS records before it first starts.
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
  }
  // The host reads its storage and deployment package, and sends telemetry, with the identity from its
  // first start: create the role assignments first.
  dependsOn: [
    roles
    openAiExtraAccess
  ]
}

// ---- Outputs (azd stores them in .azure/<env>/.env; the postdeploy hook reads them) --------------
// Names and endpoints only: no keys, no connection strings.

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_CONTAINERS object = containers
output AZURE_STORAGE_QUEUES object = queues
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint
output AZURE_OPENAI_DEPLOYMENT string = openAi.outputs.deploymentName
output AZURE_OPENAI_API_VERSION string = openAiApiVersion
output IMAGE_MODEL string = imageModelName
output IMAGE_MODEL_RPM int = imageModelRpm
// The redirect URI to register on the console's app registration (platform "Web", ID tokens).
output CONSOLE_SIGN_IN_REDIRECT_URI string = 'https://${functionApp.outputs.defaultHostName}/api/console/api/signin/callback'
output IMAGE_MODEL_POOL string = empty(extraOpenAiRegions) ? '' : string(openAiPool)
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGridTopic.outputs.name
output EVENT_GRID_DEAD_LETTER_CONTAINER string = containers.deadLetter
output OUTCOME_EVENTS_TOPIC_NAME string = outcomeTopic.outputs.name
output OUTCOME_EVENTS_TOPIC_ENDPOINT string = outcomeTopic.outputs.endpoint
