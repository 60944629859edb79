#!/usr/bin/env bash
# Builds the official Temporal server and its SQL schema tool from source, at the
# version pinned in deploy/temporal/build/go.mod, for a machine without Docker:
#
#   deploy/temporal/build.sh <out-dir>
#
# <out-dir> then holds temporal-server, temporal-sql-tool and the PostgreSQL schemas
# (schema/postgresql/v12/{temporal,visibility}/versioned) that setup-schema.sh applies.
# Nothing is done when <out-dir> already holds all three, so a directory named after
# the version (e.g. ~/.cache/flowd-ci/temporal-v1.32.1) works as a cache. Needs Go
# (the version in build/go.mod) and a few minutes of compiling on a cold cache.
set -euo pipefail

version=v1.32.1 # keep equal to go.temporal.io/server in build/go.mod
if [ $# -ne 1 ]; then
  echo "usage: $0 <out-dir>   (e.g. $0 /opt/temporal-$version)" >&2
  exit 2
fi
out=$1
module=$(cd "$(dirname "$0")/build" && pwd)

complete() {
  [ -x "$1/temporal-server" ] && [ -x "$1/temporal-sql-tool" ] &&
    [ -d "$1/schema/postgresql/v12/temporal/versioned" ] &&
    [ -d "$1/schema/postgresql/v12/visibility/versioned" ]
}
if complete "$out"; then
  echo "Temporal $version already built in $out"
  exit 0
fi

# Build into a sibling temporary directory and rename it at the end: an interrupted
# build never leaves a directory that looks complete.
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "Building Temporal $version into $out (a cold build takes several minutes)"
(
  cd "$module"
  go build -trimpath -o "$tmp/temporal-server" go.temporal.io/server/cmd/server
  go build -trimpath -o "$tmp/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql
)
src=$(cd "$module" && go list -m -f '{{.Dir}}' go.temporal.io/server)
mkdir -p "$tmp/schema/postgresql"
cp -R "$src/schema/postgresql/v12" "$tmp/schema/postgresql/v12"
rm -f "$tmp/schema/postgresql/v12/"*.go
chmod -R u+w "$tmp/schema" # the module cache is read-only; a cache must be removable
chmod 755 "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
"$out/temporal-server" --version 2>/dev/null || true
echo "Temporal $version built in $out"
