#!/usr/bin/env bash
# Builds SeaweedFS's `weed` (the real S3-compatible server the archive tests run against) once,
# into a stable GOPATH that is kept between runs: a second run prints the path at once.
#   devstack/weed.sh            prints the binary's path (building it when absent)
# VINOPS_WEED_GOPATH: where (default ~/.cache/vinops/go); the module, the build cache and the
# binary (bin/weed-<version>) all live there. `go install module@version` refuses this module
# (its go.mod has replace directives), so the module is downloaded and built in place.
# Measured on the 2-core dev machine, shared: ~11 min cold (download + compile), ~1 min with
# the build cache.
set -euo pipefail

VERSION=v0.0.0-20261109003541-7506e5f91cd6   # what the Go module proxy serves here
GOPATH_DIR="${VINOPS_WEED_GOPATH:-$HOME/.cache/vinops/go}"
BIN="$GOPATH_DIR/bin/weed-$VERSION"
if [[ -x "$BIN" ]]; then
    echo "$BIN"
    exit 0
fi
if ! command -v go >/dev/null; then
    echo "weed.sh: installing golang-go" >&2
    apt-get update -q </dev/null >&2
    apt-get install -y -q --no-install-recommends golang-go ca-certificates </dev/null >&2
fi
export GOPATH="$GOPATH_DIR" GOCACHE="$GOPATH_DIR/cache" GOFLAGS=-buildvcs=false
# A go older than the module asks for fetches the toolchain it names (Go >= 1.21).
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
mkdir -p "$GOPATH_DIR/bin" "$GOPATH_DIR/empty"
started=$(date +%s)
module_dir=$(cd "$GOPATH_DIR/empty" && go mod download -json "github.com/seaweedfs/seaweedfs@$VERSION" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
(cd "$module_dir" && go build -o "$BIN.part" ./weed)
mv "$BIN.part" "$BIN"
echo "weed.sh: built $BIN in $(($(date +%s) - started))s" >&2
echo "$BIN"
