#!/bin/sh
# Creates Temporal's two PostgreSQL databases when missing and brings their schemas
# up to the version of the Temporal server in <temporal-dir>:
#
#   deploy/temporal/setup-schema.sh <temporal-dir>
#
# <temporal-dir> holds schema/postgresql/v12 (as made by build.sh, or /etc/temporal
# in the temporalio/admin-tools image); temporal-sql-tool is taken from it, else from
# PATH. Run it before the first start and again before starting a newer Temporal:
# it is safe to run any number of times. The connection comes from the environment:
#
#   TEMPORAL_DB_HOST (127.0.0.1)   TEMPORAL_DB_PORT (5432)
#   TEMPORAL_DB_USER (postgres)    TEMPORAL_DB_PASSWORD (empty)
#   TEMPORAL_DB_NAME (temporal)    TEMPORAL_VISIBILITY_DB_NAME (temporal_visibility)
#
# The same variables configure the server through postgres.yaml.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 <temporal-dir>   (the directory with schema/postgresql/v12, e.g. the one build.sh made)" >&2
  exit 2
fi
dir=$1
schema=$dir/schema/postgresql/v12
if [ ! -d "$schema/temporal/versioned" ] || [ ! -d "$schema/visibility/versioned" ]; then
  echo "$schema/{temporal,visibility}/versioned not found: pass the directory that deploy/temporal/build.sh made" >&2
  exit 1
fi
tool=$dir/temporal-sql-tool
if [ ! -x "$tool" ]; then
  tool=$(command -v temporal-sql-tool) || {
    echo "temporal-sql-tool is neither in $dir nor on PATH: build it with deploy/temporal/build.sh" >&2
    exit 1
  }
fi

: "${TEMPORAL_DB_HOST:=127.0.0.1}" "${TEMPORAL_DB_PORT:=5432}" "${TEMPORAL_DB_USER:=postgres}"
: "${TEMPORAL_DB_PASSWORD:=}" "${TEMPORAL_DB_NAME:=temporal}" "${TEMPORAL_VISIBILITY_DB_NAME:=temporal_visibility}"

sql() { # sql <database> <command> [args...]
  db=$1
  shift
  "$tool" --plugin postgres12 --endpoint "$TEMPORAL_DB_HOST" --port "$TEMPORAL_DB_PORT" \
    --user "$TEMPORAL_DB_USER" --password "$TEMPORAL_DB_PASSWORD" --database "$db" "$@"
}

setup() { # setup <database> <temporal|visibility>
  # create-database leaves an existing database alone.
  sql "$1" create-database || {
    echo "could not create database $1 on $TEMPORAL_DB_HOST:$TEMPORAL_DB_PORT as $TEMPORAL_DB_USER: check TEMPORAL_DB_* and that PostgreSQL runs" >&2
    exit 1
  }
  # setup-schema -v 0.0 creates the version tables if missing and leaves a schema
  # that is already past 0.0 alone; update-schema applies only the versions not yet
  # applied.
  sql "$1" setup-schema -v 0.0
  sql "$1" update-schema -d "$schema/$2/versioned"
}

setup "$TEMPORAL_DB_NAME" temporal
setup "$TEMPORAL_VISIBILITY_DB_NAME" visibility
echo "Temporal schemas ready in $TEMPORAL_DB_NAME and $TEMPORAL_VISIBILITY_DB_NAME on $TEMPORAL_DB_HOST:$TEMPORAL_DB_PORT"
