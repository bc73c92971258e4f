# azd predeploy hook (PowerShell 7; infra/hooks/predeploy.sh is the POSIX twin and explains the why).
# Refuses to deploy a package without sharp's Linux x64 build (infra/preflight/sharp.ts).

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

if (-not (Get-Command node -ErrorAction SilentlyContinue)) {
  Write-Error 'predeploy: Node.js is required' -ErrorAction Continue
  exit 1
}
$root = Resolve-Path (Join-Path $PSScriptRoot '..' '..')
Set-Location $root

$check = 'dist/preflight/infra/preflight/sharp.js'
if (-not (Test-Path $check) -or (Get-Item 'infra/preflight/sharp.ts').LastWriteTime -gt (Get-Item $check).LastWriteTime) {
  if (-not (Test-Path 'node_modules/typescript/bin/tsc')) {
    Write-Error 'predeploy: node_modules is missing: run npm ci' -ErrorAction Continue
    exit 1
  }
  & node node_modules/typescript/bin/tsc -p infra/preflight
  if ($LASTEXITCODE -ne 0) {
    Write-Error 'predeploy: could not compile infra/preflight' -ErrorAction Continue
    exit 1
  }
}
& node $check $root
exit $LASTEXITCODE
