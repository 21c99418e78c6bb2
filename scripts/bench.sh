#!/usr/bin/env bash
# `npm run bench [-- --repetitions 3 --concurrency 16 --seconds 8 --warmup 3 --light-rate 100 --backlog 100000
#                  --command-instances 1 --query-instances 1]`:
# the benchmark report, written to bench/results/latest.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-installed.sh
bash scripts/services.sh up >&2
npm run build >&2
npx tsc -p bench/tsconfig.json
exec node dist/bench/run.js "$@"
