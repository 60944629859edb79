#!/bin/sh
# Fails if the committed web/dist differs from a fresh build of web/src.
# Usage: sh web/check-fresh.sh   (from anywhere; runs `npm ci` when node_modules is missing)
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowd-web-fresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
npx --no-install tsc --noEmit -p .
FLOWD_WEB_OUT_DIR="$tmp/dist" npx --no-install vite build --logLevel warn
if diff -r "$tmp/dist" dist >"$tmp/diff.txt" 2>&1; then
  echo "web/dist is fresh"
else
  echo "web/dist is STALE: run 'npm run build' in web/ and commit web/dist" >&2
  head -50 "$tmp/diff.txt" >&2
  exit 1
fi
