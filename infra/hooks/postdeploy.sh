#!/bin/sh
# azd postdeploy hook: subscribe the landing container's BlobCreated events to the blob trigger.
# The subscription needs the running app (its blobs_extension key, and Event Grid's endpoint
# validation), so it is a second provisioning pass with deployLandingEvents=true, once per azd
# environment; later `azd up` / `azd provision` runs keep it (see infra/landing-events.bicep).
set -eu

if [ "$(azd env get-value CIPHERFLOW_LANDING_EVENTS 2>/dev/null || true)" = "true" ]; then
  exit 0
fi

azd env set CIPHERFLOW_LANDING_EVENTS true
for attempt in 1 2 3 4 5; do
  # A first request starts the host, which then creates its blobs_extension key.
  curl -s -o /dev/null --max-time 60 "${SERVICE_CIPHERFLOW_URI}/health" || true
  if azd provision --no-prompt; then
    exit 0
  fi
  echo "landing event subscription not created (attempt ${attempt}/5); retrying in 30 s" >&2
  sleep 30
done
azd env set CIPHERFLOW_LANDING_EVENTS false
echo "Could not create the landing event subscription: run 'azd hooks run postdeploy' again." >&2
exit 1
