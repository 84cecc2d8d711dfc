#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (the S3 server the blob store tests start) into
# ~/.cache/charlab/seaweedfs-<version>/weed, unless it is already there. Idempotent: a second run
# prints the cached path and builds nothing. Needs Go and the Go module proxy only.
#
# `go install github.com/seaweedfs/seaweedfs/weed@VERSION` is refused (its go.mod has replace
# directives), so the build goes through the wrapper module in ./seaweedfs, which requires
# seaweedfs at a pinned pseudo-version and repeats its replace lines. The wrapper is copied to
# a temp dir first: `go mod tidy` writes go.sum and the build writes a ~160 MB binary, and
# neither belongs in the checkout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
module="$here/seaweedfs"

# The one place the version lives; engine/testing/services/seaweedfs.ts reads it from here too.
version="$(awk '$1 == "require" && $2 == "github.com/seaweedfs/seaweedfs" { print $3 }' "$module/go.mod")"
if [ -z "$version" ]; then
  echo "seaweedfs.sh: no 'require github.com/seaweedfs/seaweedfs <version>' line in $module/go.mod" >&2
  exit 1
fi
dest="$HOME/.cache/charlab/seaweedfs-$version"
bin="$dest/weed"

if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then
  echo "seaweedfs $version: cached at $bin"
  exit 0
fi

go_bin="$(command -v go 2>/dev/null || true)"
[ -n "$go_bin" ] || go_bin=/usr/local/go/bin/go
if [ ! -x "$go_bin" ]; then
  echo "seaweedfs.sh: Go is needed to build weed (not on PATH, not at /usr/local/go/bin/go)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$module/go.mod" "$module/tools.go" "$work/"
cd "$work"

echo "seaweedfs $version: building weed with $("$go_bin" version) (minutes: a cold build downloads ~600 modules and compiles a ~160 MB binary)"
started=$SECONDS
"$go_bin" mod tidy
# -s -w drops the symbol tables: a smaller binary, and the tests never debug it.
"$go_bin" build -trimpath -ldflags='-s -w' -o "$work/weed" github.com/seaweedfs/seaweedfs/weed
"$work/weed" version

# Renamed into place, so an interrupted build never leaves a half-written binary at $bin.
mkdir -p "$dest"
mv -f "$work/weed" "$bin.partial"
mv -f "$bin.partial" "$bin"
echo "seaweedfs $version: built $bin in $((SECONDS - started)) s"
