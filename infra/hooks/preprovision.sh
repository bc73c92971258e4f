#!/bin/sh
# azd preprovision hook (POSIX sh; infra/hooks/preprovision.ps1 is the Windows twin).
#
# Asks Azure, before anything is created, whether the image model can be deployed as configured: the model
# and version offered in AZURE_OPENAI_LOCATION, not deprecated, retired or preview, on the GlobalStandard SKU,
# with IMAGE_MODEL_CAPACITY units of free quota. It saves what `az cognitiveservices model list` and
# `az cognitiveservices usage list` print and hands both to one decision module (infra/preflight/decide.ts,
# which also applies shared/core/model-catalog.ts); a refusal names the setting to change and the fix.
#
# Reads the azd environment, with the defaults of infra/main.bicepparam: IMAGE_MODEL_NAME, IMAGE_MODEL_CAPACITY,
# AZURE_OPENAI_LOCATION; and AZURE_SUBSCRIPTION_ID (set by azd). On a re-provision, AZURE_RESOURCE_GROUP,
# AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT (earlier outputs) let it count the existing deployment's
# capacity as its own. PREFLIGHT_SKIP=true skips the check (e.g. when you may not list quota).
#
# AZURE_OPENAI_EXTRA_REGIONS (`region:capacity,...`, main.bicep's openAiExtraRegions) adds regions to the
# deployment pool: each is checked the same way, and the whole hook fails if any one cannot be deployed.
#
# Before the model questions (and also with PREFLIGHT_SKIP), it prepares the subscription and environment:
# - AZURE_PRINCIPAL_TYPE: whether `az` is signed in as a user or a service principal (the CI workflow), set in
#   the azd environment, so that the deployer's role assignments do not fail with UnmatchedPrincipalType;
# - with VNET_ENABLED=true, registers the Microsoft.App resource provider, which Flex Consumption's VNet
#   integration needs (the subnet is delegated to Microsoft.App/environments);
# - on a re-provision, an existing account of another kind than the template's (infra/modules/openai.bicep
#   declares a Foundry resource, kind AIServices) is reported before anything is changed.

set -eu

fail() {
  echo "preprovision: $*" >&2
  exit 1
}

command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli"
command -v node >/dev/null 2>&1 || fail "Node.js is required (it builds the app too)"

model=${IMAGE_MODEL_NAME:-gpt-image-2}
capacity=${IMAGE_MODEL_CAPACITY:-3}
region=${AZURE_OPENAI_LOCATION:-eastus2}
case $capacity in
  '' | *[!0-9]*) fail "IMAGE_MODEL_CAPACITY must be a whole number of capacity units, got '$capacity'" ;;
esac
# The SKU infra/modules/openai.bicep deploys.
sku=GlobalStandard

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
cd "$root"

# az, pinned to the azd environment's subscription when azd provides it.
az_sub() {
  if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
    az "$@" --subscription "$AZURE_SUBSCRIPTION_ID"
  else
    az "$@"
  fi
}

# The decision module is TypeScript and azd has built nothing yet: compile it (and the catalog) when the
# compiled copy is missing or older than any of its sources.
cli=dist/preflight/infra/preflight/cli.js
if [ ! -f "$cli" ] || [ -n "$(find infra/preflight shared/core/model-catalog.ts -newer "$cli" 2>/dev/null)" ]; then
  if [ ! -f node_modules/typescript/bin/tsc ]; then
    echo "preprovision: installing the project's dependencies (npm ci)"
    npm ci --no-audit --no-fund >/dev/null || fail "npm ci failed"
  fi
  node node_modules/typescript/bin/tsc -p infra/preflight || fail "could not compile infra/preflight"
fi

# The pool's regions: the first (AZURE_OPENAI_LOCATION) and the extra ones, checked before any is asked about.
extra=$(printf '%s' "${AZURE_OPENAI_EXTRA_REGIONS:-}" | tr ',' ' ')
seen=" $region "
for entry in $extra; do
  extra_region=${entry%%:*}
  extra_capacity=${entry#*:}
  case $entry in
    *:*:*) fail "AZURE_OPENAI_EXTRA_REGIONS entries must be region:capacity (e.g. swedencentral:3), got '$entry'" ;;
  esac
  case $extra_capacity in
    '' | *[!0-9]* | 0) fail "AZURE_OPENAI_EXTRA_REGIONS entries must be region:capacity with a whole number of units, got '$entry'" ;;
  esac
  case $seen in
    *" $extra_region "*) fail "AZURE_OPENAI_EXTRA_REGIONS names $extra_region twice (or AZURE_OPENAI_LOCATION again): one deployment per region" ;;
  esac
  seen="$seen$extra_region "
done

# The kind of principal az is signed in as, in main.bicep's terms (User or ServicePrincipal); empty if unknown.
principal_type() {
  case $(az_sub account show --query user.type --output tsv --only-show-errors 2>/dev/null || true) in
    user) echo User ;;
    servicePrincipal) echo ServicePrincipal ;;
  esac
}

# Records the principal's kind in the azd environment (main.bicepparam reads AZURE_PRINCIPAL_TYPE).
set_principal_type() {
  kind=$(principal_type)
  if [ -z "$kind" ] || [ "$kind" = "${AZURE_PRINCIPAL_TYPE:-}" ]; then return; fi
  command -v azd >/dev/null 2>&1 || fail "azd is required to record AZURE_PRINCIPAL_TYPE=$kind"
  azd env set AZURE_PRINCIPAL_TYPE "$kind" >/dev/null || fail "could not set AZURE_PRINCIPAL_TYPE in the azd environment"
  echo "preprovision: signed in as a $kind: AZURE_PRINCIPAL_TYPE=$kind"
}

# VNet integration on Flex Consumption needs Microsoft.App registered in the subscription.
register_microsoft_app() {
  [ "${VNET_ENABLED:-false}" = "true" ] || return 0
  state=$(az_sub provider show --namespace Microsoft.App --query registrationState --output tsv --only-show-errors) ||
    fail "could not read the registration of the Microsoft.App resource provider"
  [ "$state" = "Registered" ] && return 0
  echo "preprovision: registering the Microsoft.App resource provider (VNET_ENABLED=true; it was $state)"
  az_sub provider register --namespace Microsoft.App --wait --only-show-errors ||
    fail "could not register Microsoft.App (it needs the subscription's */register/action permission): az provider register --namespace Microsoft.App"
}

set_principal_type
register_microsoft_app

if [ "${PREFLIGHT_SKIP:-}" = "true" ]; then
  echo "preprovision: PREFLIGHT_SKIP=true, not checking the image model with Azure"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# check_region REGION CAPACITY ACCOUNT: asks Azure about one region; ACCOUNT is the Azure OpenAI account
# an earlier provision made there, whose deployment's capacity counts as free again.
check_region() {
  r=$1
  units=$2
  echo "preprovision: asking Azure about $model ($sku, $units units) in $r"
  az_sub cognitiveservices model list --location "$r" --output json --only-show-errors >"$work/models.json" ||
    fail "could not list the models of $r (signed in with az login? a region name?)"
  az_sub cognitiveservices usage list --location "$r" --output json --only-show-errors >"$work/usages.json" ||
    fail "could not list the Cognitive Services quota of $r"
  existing=$(existing_capacity "$3")
  kind=$(existing_kind "$3")
  node "$cli" --models "$work/models.json" --usages "$work/usages.json" \
    --model "$model" --sku "$sku" --capacity "$units" --region "$r" --existing-capacity "$existing" \
    ${kind:+--account "$3" --existing-kind "$kind"}
}

# Re-provisioning: the kind of the account an earlier provision made (empty when there is none).
existing_kind() {
  if [ -z "${AZURE_RESOURCE_GROUP:-}" ] || [ -z "$1" ]; then return; fi
  az_sub cognitiveservices account show --resource-group "$AZURE_RESOURCE_GROUP" --name "$1" --query kind \
    --output tsv --only-show-errors 2>/dev/null || true
}

# Re-provisioning: the deployment's own capacity already counts as in use.
existing_capacity() {
  if [ -z "${AZURE_RESOURCE_GROUP:-}" ] || [ -z "$1" ]; then
    echo 0
    return
  fi
  current=$(az_sub cognitiveservices account deployment show --resource-group "$AZURE_RESOURCE_GROUP" --name "$1" \
    --deployment-name "${AZURE_OPENAI_DEPLOYMENT:-$model}" --query "[properties.model.name, sku.capacity]" --output tsv \
    --only-show-errors 2>/dev/null || true)
  # The two values, whether az prints them on one line (tab-separated) or two.
  # shellcheck disable=SC2086
  set -- $current
  current_model=${1:-}
  current_capacity=${2:-}
  case $current_capacity in '' | *[!0-9]*) current_capacity=0 ;; esac
  if [ "$current_model" = "$model" ]; then echo "$current_capacity"; else echo 0; fi
}

# The first account's name is in its endpoint (an earlier output); the extra ones are named after it.
account=""
if [ -n "${AZURE_OPENAI_ENDPOINT:-}" ]; then
  account=$(printf '%s' "$AZURE_OPENAI_ENDPOINT" | sed -E 's#^https://([^./]+)\..*$#\1#')
fi
check_region "$region" "$capacity" "$account"
for entry in $extra; do
  check_region "${entry%%:*}" "${entry#*:}" "${account:+$account-${entry%%:*}}"
done
