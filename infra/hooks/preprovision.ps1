# azd preprovision hook (PowerShell 7; infra/hooks/preprovision.sh is the POSIX twin and explains the why).
#
# Asks Azure, before anything is created, whether the image model can be deployed as configured, by handing
# what `az cognitiveservices model list` and `az cognitiveservices usage list` print to the decision module
# (infra/preflight/decide.ts). A refusal names the setting to change and the fix.
#
# Reads the azd environment, with the defaults of infra/main.bicepparam: IMAGE_MODEL_NAME, IMAGE_MODEL_CAPACITY,
# AZURE_OPENAI_LOCATION; AZURE_SUBSCRIPTION_ID (set by azd); on a re-provision AZURE_RESOURCE_GROUP,
# AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT. PREFLIGHT_SKIP=true skips the check.
# AZURE_OPENAI_EXTRA_REGIONS (region:capacity,...) adds regions to the pool; every one is checked.
# Before the model questions (also with PREFLIGHT_SKIP): AZURE_PRINCIPAL_TYPE set from who az is signed in as,
# Microsoft.App registered when VNET_ENABLED=true; on a re-provision an account of another kind is reported.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Fail([string] $Message) {
  Write-Error "preprovision: $Message" -ErrorAction Continue
  exit 1
}

function Optional([string] $Name, [string] $Default) {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ([string]::IsNullOrEmpty($value)) { return $Default }
  return $value
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Fail 'the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli'
}
if (-not (Get-Command node -ErrorAction SilentlyContinue)) { Fail 'Node.js is required (it builds the app too)' }

$model = Optional 'IMAGE_MODEL_NAME' 'gpt-image-2'
$capacity = Optional 'IMAGE_MODEL_CAPACITY' '3'
$region = Optional 'AZURE_OPENAI_LOCATION' 'eastus2'
if ($capacity -notmatch '^\d+$') { Fail "IMAGE_MODEL_CAPACITY must be a whole number of capacity units, got '$capacity'" }
# The SKU infra/modules/openai.bicep deploys.
$sku = 'GlobalStandard'
$subscription = Optional 'AZURE_SUBSCRIPTION_ID' ''

Set-Location (Join-Path $PSScriptRoot '..' '..')

# az, pinned to the azd environment's subscription when azd provides it. Returns stdout; $LASTEXITCODE is az's.
function Invoke-Az([string[]] $Arguments) {
  if ($subscription) { $Arguments += @('--subscription', $subscription) }
  & az @Arguments
}

# The decision module is TypeScript and azd has built nothing yet: compile it (and the catalog) when the
# compiled copy is missing or older than any of its sources.
$cli = 'dist/preflight/infra/preflight/cli.js'
$sources = @(Get-ChildItem -File -Path 'infra/preflight', 'shared/core/model-catalog.ts')
if (-not (Test-Path $cli) -or ($sources | Where-Object { $_.LastWriteTime -gt (Get-Item $cli).LastWriteTime })) {
  if (-not (Test-Path 'node_modules/typescript/bin/tsc')) {
    Write-Host "preprovision: installing the project's dependencies (npm ci)"
    & npm ci --no-audit --no-fund | Out-Null
    if ($LASTEXITCODE -ne 0) { Fail 'npm ci failed' }
  }
  & node node_modules/typescript/bin/tsc -p infra/preflight
  if ($LASTEXITCODE -ne 0) { Fail 'could not compile infra/preflight' }
}

# The pool's regions: the first (AZURE_OPENAI_LOCATION) and AZURE_OPENAI_EXTRA_REGIONS (region:capacity,...),
# all checked before any is asked about.
$regions = @(@{ Region = $region; Capacity = $capacity; Extra = $false })
foreach ($entry in ((Optional 'AZURE_OPENAI_EXTRA_REGIONS' '') -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ })) {
  if ($entry -notmatch '^([^:]+):(\d+)$' -or [int]$Matches[2] -eq 0) {
    Fail "AZURE_OPENAI_EXTRA_REGIONS entries must be region:capacity with a whole number of units (e.g. swedencentral:3), got '$entry'"
  }
  $extraRegion = $Matches[1]
  if ($regions | Where-Object { $_.Region -eq $extraRegion }) {
    Fail "AZURE_OPENAI_EXTRA_REGIONS names $extraRegion twice (or AZURE_OPENAI_LOCATION again): one deployment per region"
  }
  $regions += @{ Region = $extraRegion; Capacity = $Matches[2]; Extra = $true }
}

# The deployer's kind (User or ServicePrincipal), recorded for main.bicepparam's AZURE_PRINCIPAL_TYPE.
function Set-PrincipalType {
  $type = Invoke-Az @('account', 'show', '--query', 'user.type', '--output', 'tsv', '--only-show-errors') 2>$null
  $kind = switch ("$type".Trim()) { 'user' { 'User' } 'servicePrincipal' { 'ServicePrincipal' } default { '' } }
  if (-not $kind -or $kind -eq (Optional 'AZURE_PRINCIPAL_TYPE' '')) { return }
  if (-not (Get-Command azd -ErrorAction SilentlyContinue)) { Fail "azd is required to record AZURE_PRINCIPAL_TYPE=$kind" }
  & azd env set AZURE_PRINCIPAL_TYPE $kind | Out-Null
  if ($LASTEXITCODE -ne 0) { Fail 'could not set AZURE_PRINCIPAL_TYPE in the azd environment' }
  Write-Host "preprovision: signed in as a ${kind}: AZURE_PRINCIPAL_TYPE=$kind"
}

# VNet integration on Flex Consumption needs Microsoft.App registered in the subscription.
function Register-MicrosoftApp {
  if ((Optional 'VNET_ENABLED' 'false') -ne 'true') { return }
  $state = Invoke-Az @('provider', 'show', '--namespace', 'Microsoft.App', '--query', 'registrationState', '--output', 'tsv', '--only-show-errors')
  if ($LASTEXITCODE -ne 0) { Fail 'could not read the registration of the Microsoft.App resource provider' }
  if ("$state".Trim() -eq 'Registered') { return }
  Write-Host "preprovision: registering the Microsoft.App resource provider (VNET_ENABLED=true; it was $("$state".Trim()))"
  Invoke-Az @('provider', 'register', '--namespace', 'Microsoft.App', '--wait', '--only-show-errors') | Out-Null
  if ($LASTEXITCODE -ne 0) {
    Fail "could not register Microsoft.App (it needs the subscription's */register/action permission): az provider register --namespace Microsoft.App"
  }
}

Set-PrincipalType
Register-MicrosoftApp

if ((Optional 'PREFLIGHT_SKIP' '') -eq 'true') {
  Write-Host 'preprovision: PREFLIGHT_SKIP=true, not checking the image model with Azure'
  exit 0
}

# The first account's name is in its endpoint (an earlier output); the extra ones are named after it.
$resourceGroup = Optional 'AZURE_RESOURCE_GROUP' ''
$firstAccount = ''
if ((Optional 'AZURE_OPENAI_ENDPOINT' '') -match '^https://([^./]+)\.') { $firstAccount = $Matches[1] }

$work = Join-Path ([IO.Path]::GetTempPath()) ([IO.Path]::GetRandomFileName())
New-Item -ItemType Directory -Path $work | Out-Null
$decision = 0
try {
  foreach ($r in $regions) {
    $where = $r.Region
    Write-Host "preprovision: asking Azure about $model ($sku, $($r.Capacity) units) in $where"
    $models = Join-Path $work 'models.json'
    $usages = Join-Path $work 'usages.json'
    Invoke-Az @('cognitiveservices', 'model', 'list', '--location', $where, '--output', 'json', '--only-show-errors') | Set-Content -Path $models
    if ($LASTEXITCODE -ne 0) { Fail "could not list the models of $where (signed in with az login? a region name?)" }
    Invoke-Az @('cognitiveservices', 'usage', 'list', '--location', $where, '--output', 'json', '--only-show-errors') | Set-Content -Path $usages
    if ($LASTEXITCODE -ne 0) { Fail "could not list the Cognitive Services quota of $where" }

    # Re-provisioning: the deployment's own capacity already counts as in use.
    $existing = 0
    $account = if ($r.Extra -and $firstAccount) { "$firstAccount-$where" } else { $firstAccount }
    if ($resourceGroup -and $account) {
      $shown = Invoke-Az @('cognitiveservices', 'account', 'deployment', 'show', '--resource-group', $resourceGroup, '--name', $account,
        '--deployment-name', (Optional 'AZURE_OPENAI_DEPLOYMENT' $model), '--query', '[properties.model.name, sku.capacity]',
        '--output', 'tsv', '--only-show-errors') 2>$null
      # The two values, whether az prints them on one line (tab-separated) or two.
      $current = @(-split (@($shown) -join ' '))
      if ($LASTEXITCODE -eq 0 -and $current.Count -eq 2 -and $current[0] -eq $model -and $current[1] -match '^\d+$') {
        $existing = [int]$current[1]
      }
    }

    # Re-provisioning: the kind of the account an earlier provision made.
    $kindArgs = @()
    if ($resourceGroup -and $account) {
      $kind = Invoke-Az @('cognitiveservices', 'account', 'show', '--resource-group', $resourceGroup, '--name', $account,
        '--query', 'kind', '--output', 'tsv', '--only-show-errors') 2>$null
      if ($LASTEXITCODE -eq 0 -and "$kind".Trim()) { $kindArgs = @('--account', $account, '--existing-kind', "$kind".Trim()) }
    }

    & node $cli --models $models --usages $usages `
      --model $model --sku $sku --capacity $r.Capacity --region $where --existing-capacity $existing @kindArgs
    $decision = $LASTEXITCODE
    if ($decision -ne 0) { break }
  }
}
finally {
  Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
exit $decision
