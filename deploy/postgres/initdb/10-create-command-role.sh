#!/usr/bin/env bash
# Run by the postgres image's entrypoint once, when the data volume is empty. The command
# service gets a login role that owns its database and nothing else; `postgres` stays for operators.
set -euo pipefail
: "${ORDERS_COMMAND_DB_NAME:?}" "${ORDERS_COMMAND_DB_USER:?}" "${ORDERS_COMMAND_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v role="$ORDERS_COMMAND_DB_USER" \
  -v password="$ORDERS_COMMAND_DB_PASSWORD" \
  -v database="$ORDERS_COMMAND_DB_NAME" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
