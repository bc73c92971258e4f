// Parameters for infra/main.bicep, read from the environment: the same variables, with the same
// defaults, as infra/main.parameters.json (test/infra keeps the two files in step).
//
// Why both files: azd prefers <module>.bicepparam when it exists (Azure/azure-dev#2628), so this is what
// `azd up` uses; main.parameters.json is kept for tooling that only reads JSON parameter files. Outside
// azd, deploy the same template with the Azure CLI:
//
//   AZURE_ENV_NAME=dev AZURE_LOCATION=swedencentral AZURE_PRINCIPAL_ID=$(az ad signed-in-user show --query id -o tsv) \
//     az deployment sub create -l swedencentral -f infra/main.bicep -p infra/main.bicepparam

using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME')
param location = readEnvironmentVariable('AZURE_LOCATION')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param principalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')
param alertEmail = readEnvironmentVariable('ALERT_EMAIL', '')
param openAiLocation = readEnvironmentVariable('AZURE_OPENAI_LOCATION', 'eastus2')
param imageModelName = readEnvironmentVariable('IMAGE_MODEL_NAME', 'gpt-image-2')
param imageModelCapacity = int(readEnvironmentVariable('IMAGE_MODEL_CAPACITY', '3'))
param openAiExtraRegions = readEnvironmentVariable('AZURE_OPENAI_EXTRA_REGIONS', '')
param allowedRegions = readEnvironmentVariable('ALLOWED_REGIONS', '')
param maximumInstanceCount = int(readEnvironmentVariable('FUNCTIONS_MAXIMUM_INSTANCE_COUNT', '40'))
param publishedPublicRead = bool(readEnvironmentVariable('PUBLISHED_PUBLIC_READ', 'false'))
param vnetEnabled = bool(readEnvironmentVariable('VNET_ENABLED', 'false'))
param consoleClientId = readEnvironmentVariable('CONSOLE_CLIENT_ID', '')
param keyVaultSoftDeleteRetentionDays = int(readEnvironmentVariable('KEY_VAULT_SOFT_DELETE_DAYS', '7'))
param keyVaultPurgeProtection = bool(readEnvironmentVariable('KEY_VAULT_PURGE_PROTECTION', 'false'))
