#!/usr/bin/env bash
# `npm test`: installs if needed, brings up the backing services, builds both services (the
# integration tests start them from their built main modules, as users do), runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
bash scripts/services.sh up
npx nest build command-service
npx nest build query-service
exec npx jest --runInBand "$@"
