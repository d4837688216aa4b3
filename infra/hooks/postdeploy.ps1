# azd postdeploy hook (Windows): same steps as postdeploy.sh, which explains them.
$ErrorActionPreference = 'Stop'

if ((azd env get-value CIPHERFLOW_LANDING_EVENTS 2>$null) -eq 'true') { exit 0 }

azd env set CIPHERFLOW_LANDING_EVENTS true
foreach ($attempt in 1..5) {
  try { Invoke-WebRequest -Uri "$env:SERVICE_CIPHERFLOW_URI/health" -TimeoutSec 60 -UseBasicParsing | Out-Null } catch { }
  azd provision --no-prompt
  if ($LASTEXITCODE -eq 0) { exit 0 }
  Write-Warning "landing event subscription not created (attempt $attempt/5); retrying in 30 s"
  Start-Sleep -Seconds 30
}
azd env set CIPHERFLOW_LANDING_EVENTS false
Write-Error "Could not create the landing event subscription: run 'azd hooks run postdeploy' again."
exit 1
