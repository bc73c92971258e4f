# azd postdeploy hook (PowerShell 7; infra/hooks/postdeploy.sh is the POSIX twin and explains the why).
#
# Creates the Event Grid subscriptions inbox-to-intake and edited-to-publish (infra/event-subscriptions.bicep)
# once the `intake` and `publish` functions are deployed and indexed: an AzureFunction endpoint can only
# name a function that exists. Waits for them (bounded, with backoff), then deploys, retrying transient
# failures. Idempotent: rerun it with `azd hooks run postdeploy`.
#
# Reads the azd environment (outputs of infra/main.bicep): AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME,
# AZURE_STORAGE_ACCOUNT_NAME, EVENT_GRID_SYSTEM_TOPIC_NAME, EVENT_GRID_DEAD_LETTER_CONTAINER, and
# AZURE_SUBSCRIPTION_ID (set by azd). Tunables: POSTDEPLOY_WAIT_ATTEMPTS, POSTDEPLOY_WAIT_SECONDS (the first wait,
# doubling up to 60 s), POSTDEPLOY_DEPLOY_ATTEMPTS.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Fail([string] $Message) {
  Write-Error "postdeploy: $Message" -ErrorAction Continue
  exit 1
}

function Require([string] $Name) {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ([string]::IsNullOrEmpty($value)) { Fail "$Name is not set (run through azd, or set the outputs of infra/main.bicep)" }
  return $value
}

function Optional([string] $Name, [string] $Default) {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ([string]::IsNullOrEmpty($value)) { return $Default }
  return $value
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Fail 'the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli'
}

$resourceGroup = Require 'AZURE_RESOURCE_GROUP'
$app = Require 'AZURE_FUNCTION_APP_NAME'
$storageAccount = Require 'AZURE_STORAGE_ACCOUNT_NAME'
$topic = Require 'EVENT_GRID_SYSTEM_TOPIC_NAME'
$deadLetterContainer = Optional 'EVENT_GRID_DEAD_LETTER_CONTAINER' 'eventgrid-deadletter'
$subscription = Optional 'AZURE_SUBSCRIPTION_ID' ''
$waitAttempts = [int](Optional 'POSTDEPLOY_WAIT_ATTEMPTS' '12')
$firstWait = [int](Optional 'POSTDEPLOY_WAIT_SECONDS' '10')
$deployAttempts = [int](Optional 'POSTDEPLOY_DEPLOY_ATTEMPTS' '4')

$template = Join-Path $PSScriptRoot '..' 'event-subscriptions.bicep'
if (-not (Test-Path $template)) { Fail "template not found: $template" }

# az, pinned to the azd environment's subscription when azd provides it. Returns stdout; $LASTEXITCODE is az's.
function Invoke-Az([string[]] $Arguments) {
  if ($subscription) { $Arguments += @('--subscription', $subscription) }
  & az @Arguments
}

# ---- 1. Wait until the host has indexed intake and publish ---------------------------------------------

function Get-MissingFunctions {
  $listed = @(Invoke-Az @('functionapp', 'function', 'list', '--resource-group', $resourceGroup, '--name', $app,
      '--query', '[].name', '--output', 'tsv', '--only-show-errors') 2>$null)
  if ($LASTEXITCODE -ne 0) { $listed = @() }
  # ARM lists them as <app>/<function>.
  $pattern = { param($fn) '(^|/)' + [regex]::Escape($fn) + '$' }
  return @('intake', 'publish' | Where-Object { $fn = $_; -not ($listed | Where-Object { $_ -match (& $pattern $fn) }) })
}

$script:appId = ''
function Sync-Host {
  if (-not $script:appId) {
    $script:appId = Invoke-Az @('functionapp', 'show', '--resource-group', $resourceGroup, '--name', $app, '--query', 'id', '--output', 'tsv', '--only-show-errors') 2>$null
    if ($LASTEXITCODE -ne 0) { $script:appId = '' }
  }
  if ($script:appId) {
    Invoke-Az @('rest', '--method', 'post', '--url', "https://management.azure.com$($script:appId)/host/default/sync?api-version=2024-04-01",
      '--only-show-errors', '--output', 'none') 2>$null | Out-Null
  }
}

$attempt = 1
$delay = $firstWait
while ($true) {
  $missing = @(Get-MissingFunctions)
  if ($missing.Count -eq 0) { break }
  if ($attempt -ge $waitAttempts) {
    Fail ("function(s) $($missing -join ', ') still not listed on $app after $attempt checks. The deployment may not have started the host:`n" +
      "  look at the app's deployment and host logs (portal > $app > Deployment Center / Log stream, or Application Insights traces),`n" +
      '  then rerun this step with: azd hooks run postdeploy')
  }
  # Ask the host to index the deployed functions again, on every check: syncfunctiontriggers alone does not
  # index a Flex Consumption app (reported by users); the host sync endpoint does, and is harmless otherwise.
  Sync-Host
  Write-Host "postdeploy: waiting ${delay}s for function(s) $($missing -join ', ') on $app (check $attempt of $waitAttempts)"
  Start-Sleep -Seconds $delay
  $attempt++
  $delay = [Math]::Min($delay * 2, 60)
}
Write-Host "postdeploy: $app has intake and publish"

# ---- 2. Deploy the subscriptions -----------------------------------------------------------------------

$attempt = 1
$delay = 15
while ($true) {
  Write-Host "postdeploy: deploying Event Grid subscriptions on $topic (attempt $attempt of $deployAttempts)"
  Invoke-Az @('deployment', 'group', 'create',
    '--resource-group', $resourceGroup,
    '--name', 'event-subscriptions',
    '--template-file', $template,
    '--parameters',
    "systemTopicName=$topic",
    "functionAppName=$app",
    "storageAccountName=$storageAccount",
    "deadLetterContainerName=$deadLetterContainer",
    '--only-show-errors', '--output', 'none')
  if ($LASTEXITCODE -eq 0) { break }
  if ($attempt -ge $deployAttempts) {
    Fail ("could not create the Event Grid subscriptions after $attempt attempts (see the error above).`n" +
      "  'Destination endpoint not found' means Event Grid could not reach intake/publish yet: wait a minute and rerun`n" +
      '  with: azd hooks run postdeploy')
  }
  Write-Host "postdeploy: retrying in ${delay}s"
  Start-Sleep -Seconds $delay
  $attempt++
  $delay *= 2
}

Write-Host 'postdeploy: Event Grid delivers BlobCreated in inbox/ to intake and in edited/ to publish'
