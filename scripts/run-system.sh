#!/usr/bin/env bash
# `npm start`: the whole system on this machine without Docker — backing services, both
# services built and running in the foreground. Ctrl-C (or SIGTERM) stops both cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
bash scripts/services.sh up
npm run build
unset PORT # each service has its own default port
# FerretDB 1.24 deadlocks once 50 updates run at once (see test/support/mongo-test-database.ts):
# keep the query service's connections, and so its concurrent operations, well below that.
export MONGODB_URL="${MONGODB_URL:-mongodb://127.0.0.1:27017/orders_read?maxPoolSize=20}"

node dist/apps/query-service/apps/query-service/src/main.js &
query=$!
node dist/apps/command-service/apps/command-service/src/main.js &
command=$!
stop() {
  kill -TERM "$command" "$query" 2>/dev/null || true
  wait "$command" "$query" 2>/dev/null || true
}
trap stop INT TERM
echo "command service: http://127.0.0.1:3000   query service: http://127.0.0.1:3001"
wait -n "$command" "$query" || true
stop
