#!/usr/bin/env bash
# `npm test`: installs if needed, brings up the backing services, builds both services (the
# integration tests start them from their built main modules, as users do), runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
bash scripts/services.sh up
# A MongoDB-compatible server that accepts connections but no longer answers (seen with
# FerretDB 1.24) would hang every test: ping it, and restart one we started if it is stuck.
if ! timeout 15 node -e "
  const { MongoClient } = require('mongodb');
  new MongoClient('mongodb://127.0.0.1:${MONGO_PORT:-27017}/ping', { serverSelectionTimeoutMS: 10000 })
    .connect().then((c) => c.db().admin().ping().then(() => c.close()))
    .then(() => process.exit(0), () => process.exit(1));"; then
  echo "mongodb: not answering; restarting the FerretDB this script started"
  bash scripts/services.sh down
  bash scripts/services.sh up
fi
npx nest build command-service
npx nest build query-service
if [[ $# -gt 0 ]]; then exec npx jest --runInBand "$@"; fi
npx jest --runInBand
# The rebuild while serving runs last, in a run of its own (jest.config.ts says why).
ORDERS_REBUILD_TEST=1 exec npx jest --runInBand --selectProjects rebuild
