#!/bin/sh
# azd predeploy hook (POSIX sh; infra/hooks/predeploy.ps1 is the Windows twin).
#
# azure.yaml builds the package here (remoteBuild: false) and Flex Consumption runs it on Linux x64: refuse
# to deploy a package without sharp's Linux build (infra/preflight/sharp.ts says why and how to fix it).

set -eu

fail() {
  echo "predeploy: $*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || fail "Node.js is required"
root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
cd "$root"

# Compiled with the preprovision preflight (infra/preflight/tsconfig.json), when missing or older than its source.
check=dist/preflight/infra/preflight/sharp.js
if [ ! -f "$check" ] || [ -n "$(find infra/preflight/sharp.ts -newer "$check" 2>/dev/null)" ]; then
  [ -f node_modules/typescript/bin/tsc ] || fail "node_modules is missing: run npm ci"
  node node_modules/typescript/bin/tsc -p infra/preflight || fail "could not compile infra/preflight"
fi
node "$check" "$root"
