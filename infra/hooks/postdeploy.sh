#!/bin/sh
# azd postdeploy hook (POSIX sh; infra/hooks/postdeploy.ps1 is the Windows twin).
#
# Creates the Event Grid subscriptions inbox-to-intake and edited-to-publish (infra/event-subscriptions.bicep).
# They cannot be part of `azd provision`: their endpoints are of type AzureFunction, which Event Grid
# resolves (and validates) when the subscription is created, so the `intake` and `publish` functions must
# already be deployed and indexed by the host. Right after `azd deploy` they often are not yet, so this
# hook waits for them (bounded, with backoff, asking the host to sync on every check), then deploys the subscriptions, retrying the transient
# "destination endpoint not found" that can follow. Idempotent: rerun it with `azd hooks run postdeploy`.
#
# Reads the azd environment (outputs of infra/main.bicep): AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME,
# AZURE_STORAGE_ACCOUNT_NAME, EVENT_GRID_SYSTEM_TOPIC_NAME, EVENT_GRID_DEAD_LETTER_CONTAINER, and
# AZURE_SUBSCRIPTION_ID (set by azd). Tunables: POSTDEPLOY_WAIT_ATTEMPTS, POSTDEPLOY_WAIT_SECONDS (the first wait,
# doubling up to 60 s), POSTDEPLOY_DEPLOY_ATTEMPTS.

set -eu

fail() {
  echo "postdeploy: $*" >&2
  exit 1
}

command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is required: https://learn.microsoft.com/cli/azure/install-azure-cli"

resource_group=${AZURE_RESOURCE_GROUP:?postdeploy: AZURE_RESOURCE_GROUP is not set (run through azd, or export the outputs of infra/main.bicep)}
app=${AZURE_FUNCTION_APP_NAME:?postdeploy: AZURE_FUNCTION_APP_NAME is not set}
storage_account=${AZURE_STORAGE_ACCOUNT_NAME:?postdeploy: AZURE_STORAGE_ACCOUNT_NAME is not set}
topic=${EVENT_GRID_SYSTEM_TOPIC_NAME:?postdeploy: EVENT_GRID_SYSTEM_TOPIC_NAME is not set}
dead_letter_container=${EVENT_GRID_DEAD_LETTER_CONTAINER:-eventgrid-deadletter}
wait_attempts=${POSTDEPLOY_WAIT_ATTEMPTS:-12}
first_wait=${POSTDEPLOY_WAIT_SECONDS:-10}
deploy_attempts=${POSTDEPLOY_DEPLOY_ATTEMPTS:-4}

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
template="$here/../event-subscriptions.bicep"
[ -f "$template" ] || fail "template not found: $template"

# az, pinned to the azd environment's subscription when azd provides it.
az_sub() {
  if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
    az "$@" --subscription "$AZURE_SUBSCRIPTION_ID"
  else
    az "$@"
  fi
}

# ---- 1. Wait until the host has indexed intake and publish --------------------------------------------

missing_functions() {
  listed=$(az_sub functionapp function list --resource-group "$resource_group" --name "$app" \
    --query "[].name" --output tsv --only-show-errors 2>/dev/null || true)
  missing=""
  for fn in intake publish; do
    # ARM lists them as <app>/<function>.
    if ! printf '%s\n' "$listed" | grep -Eq "(^|/)$fn\$"; then
      missing="$missing $fn"
    fi
  done
  printf '%s' "$missing"
}

app_id=""
sync_host() {
  [ -n "$app_id" ] || app_id=$(az_sub functionapp show --resource-group "$resource_group" --name "$app" --query id \
    --output tsv --only-show-errors 2>/dev/null || true)
  [ -n "$app_id" ] || return 0
  az_sub rest --method post --url "https://management.azure.com${app_id}/host/default/sync?api-version=2024-04-01" \
    --only-show-errors --output none 2>/dev/null || true
}

attempt=1
delay=$first_wait
while :; do
  missing=$(missing_functions)
  [ -z "$missing" ] && break
  if [ "$attempt" -ge "$wait_attempts" ]; then
    fail "function(s)$missing still not listed on $app after $attempt checks. The deployment may not have started the host:
  look at the app's deployment and host logs (portal > $app > Deployment Center / Log stream, or Application Insights traces),
  then rerun this step with: azd hooks run postdeploy"
  fi
  # Ask the host to index the deployed functions again, on every check: syncfunctiontriggers alone does not
  # index a Flex Consumption app (reported by users); the host sync endpoint does, and is harmless otherwise.
  sync_host
  echo "postdeploy: waiting ${delay}s for function(s)$missing on $app (check $attempt of $wait_attempts)"
  sleep "$delay"
  attempt=$((attempt + 1))
  delay=$((delay * 2))
  [ "$delay" -gt 60 ] && delay=60
done
echo "postdeploy: $app has intake and publish"

# ---- 2. Deploy the subscriptions ---------------------------------------------------------------------

attempt=1
delay=15
while :; do
  echo "postdeploy: deploying Event Grid subscriptions on $topic (attempt $attempt of $deploy_attempts)"
  if az_sub deployment group create \
    --resource-group "$resource_group" \
    --name event-subscriptions \
    --template-file "$template" \
    --parameters \
    systemTopicName="$topic" \
    functionAppName="$app" \
    storageAccountName="$storage_account" \
    deadLetterContainerName="$dead_letter_container" \
    --only-show-errors --output none; then
    break
  fi
  if [ "$attempt" -ge "$deploy_attempts" ]; then
    fail "could not create the Event Grid subscriptions after $attempt attempts (see the error above).
  'Destination endpoint not found' means Event Grid could not reach intake/publish yet: wait a minute and rerun
  with: azd hooks run postdeploy"
  fi
  echo "postdeploy: retrying in ${delay}s"
  sleep "$delay"
  attempt=$((attempt + 1))
  delay=$((delay * 2))
done

echo "postdeploy: Event Grid delivers BlobCreated in inbox/ to intake and in edited/ to publish"
