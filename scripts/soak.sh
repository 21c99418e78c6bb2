#!/usr/bin/env bash
# `npm run soak -- --minutes N`: steady load with periodic kills, memory and lag over time,
# reconciled at the end; the table goes to bench/results/soak-latest.md.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    *) echo "usage: npm run soak -- --minutes N" >&2; exit 2 ;;
  esac
done
SOAK_MINUTES="$minutes" exec bash scripts/test.sh --selectProjects soak --testTimeout $(( (minutes + 5) * 60000 ))
