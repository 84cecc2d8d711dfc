#!/usr/bin/env bash
# Builds the FerretDB test server (MongoDB wire protocol on SQLite) that the MongoDB document
# store tests start: ~/.cache/charlab/ferretdb-v1.24.2/ferretdb, from the wrapper in
# .ci/services/ferretdb/ (see main.go for why not `go install …/cmd/ferretdb`).
# Idempotent: an existing binary is kept. The build runs in a temporary copy so the repository
# gets no go.sum and no build output. Prints the binary's path last.
set -euo pipefail

FERRETDB_VERSION=v1.24.2
here="$(cd "$(dirname "$0")" && pwd)"
cache_dir="${HOME}/.cache/charlab/ferretdb-${FERRETDB_VERSION}"
binary="${cache_dir}/ferretdb"

if [ -x "$binary" ]; then
  echo "ferretdb ${FERRETDB_VERSION} already built" >&2
  echo "$binary"
  exit 0
fi

go_bin="$(command -v go || true)"
[ -n "$go_bin" ] || go_bin=/usr/local/go/bin/go
if [ ! -x "$go_bin" ]; then
  echo "ferretdb.sh: Go is needed to build FerretDB; install Go ≥ 1.24 (https://go.dev/dl/)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/ferretdb/main.go" "$here/ferretdb/go.mod" "$work/"

echo "building ferretdb ${FERRETDB_VERSION} with $("$go_bin" version)" >&2
started=$SECONDS
(
  cd "$work"
  "$go_bin" mod tidy
  # Built next to the final path, then renamed, so a killed build never leaves a binary that
  # the check above would take for a finished one.
  mkdir -p "$cache_dir"
  CGO_ENABLED=0 "$go_bin" build -trimpath -o "$binary.partial" .
)
mv "$binary.partial" "$binary"
echo "built in $((SECONDS - started))s" >&2
echo "$binary"
