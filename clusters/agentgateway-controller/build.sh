#!/usr/bin/env bash
# Build the agentgateway controller (Go) from an upstream source tree, once per version, and
# render the CRDs it needs.
#
#   AGW_AGENTGATEWAY_SRC=/path/to/agentgateway clusters/agentgateway-controller/build.sh [--force]
#
# Produces, in the same cache directory as the proxy build (clusters/agentgateway/build.sh):
#
#   <cache>/agentgateway/<version>/bin/agentgateway-controller          the controller
#   <cache>/agentgateway/<version>/bin/agentgateway-controller.inputs   fingerprint of its inputs
#   <cache>/agentgateway/<version>/controller/crds/*.yaml               one CRD per file
#   <cache>/agentgateway/<version>/controller/crds/SOURCES              where each set came from
#   <cache>/agentgateway/<version>/controller/logs/go-build.log         go output and build time
#
# stdout: only the path of the controller binary (last line). Progress goes to stderr.
#
# The user's tree is never written to: `go build -C <tree>` with -o outside it, -mod=readonly
# (go.mod and go.sum are used as they are) and -buildvcs=false. Modules come from the Go module
# proxy (GOPROXY as configured) into the ordinary module cache.
#
# <version> follows the proxy build's rule (so both binaries land side by side): `git describe`
# for a git checkout, the pinned tag of clusters/agentgateway/versions.env when Cargo.toml and
# Cargo.lock match it, else src-<hash>. The binary is rebuilt when the fingerprint of its
# inputs (go.mod, go.sum, controller/ and api/, the Go version, this script) changes.
#
# CRDs: the tree's CRD chart (controller/install/helm/agentgateway-crds/templates, rendered
# with its values.yaml by clusters/envtest/crdprep) and the Gateway API standard channel at
# the version the tree's go.mod requires (sigs.k8s.io/gateway-api, config/crd/standard).
#
# Environment:
#   AGW_AGENTGATEWAY_SRC  (required) agentgateway source tree (git checkout or extracted archive)
#   AGW_CACHE_DIR         cache root (default: $HOME/.cache/agw-conformance)
# Needs: go (the version the tree's go.mod asks for, or newer; no toolchain is downloaded),
# sha256sum.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
PROXY_PINS="$REPO_ROOT/clusters/agentgateway/versions.env"
CRDPREP_SRC="$REPO_ROOT/clusters/envtest/crdprep"
PKG=./controller/cmd/agentgateway
VERSION_VAR=github.com/agentgateway/agentgateway/controller/pkg/version.Version
CRD_CHART=controller/install/helm/agentgateway-crds

exec 3>&1 1>&2 # stdout is for the binary path only
log() { printf 'agw-controller-build: %s\n' "$*"; }
die() {
	printf 'agw-controller-build: error: %s\n' "$*"
	exit 1
}

force=0
for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	-h | --help)
		sed -n '2,34p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument '$arg' (usage: build.sh [--force])" ;;
	esac
done

# --- Inputs --------------------------------------------------------------------------------------
SRC="${AGW_AGENTGATEWAY_SRC:-}"
[[ -n "$SRC" ]] || die "AGW_AGENTGATEWAY_SRC is not set; point it at an agentgateway source tree"
[[ -d "$SRC" ]] || die "AGW_AGENTGATEWAY_SRC=$SRC is not a directory"
SRC="$(cd "$SRC" && pwd)"
for f in go.mod go.sum controller/cmd/agentgateway/main.go "$CRD_CHART/values.yaml" Cargo.toml Cargo.lock; do
	[[ -f "$SRC/$f" ]] || die "AGW_AGENTGATEWAY_SRC=$SRC is not an agentgateway source tree (missing $f)"
done
grep -q '^module github.com/agentgateway/agentgateway$' "$SRC/go.mod" ||
	die "$SRC/go.mod is not the github.com/agentgateway/agentgateway module"
[[ -f "$PROXY_PINS" ]] || die "missing $PROXY_PINS"
# shellcheck source-path=SCRIPTDIR source=../agentgateway/versions.env
. "$PROXY_PINS"

command -v go >/dev/null || { [[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"; }
command -v go >/dev/null || die "go not found on PATH"
command -v sha256sum >/dev/null || die "sha256sum not found"
# No toolchain download, no cgo, never touch go.mod/go.sum, no VCS stamping (the tree may not be
# a checkout), a module cache that can be deleted without chmod.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false -modcacherw"
goversion="$(go env GOVERSION)"
want_go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$SRC/go.mod")"
# Go refuses a tree whose go line is newer than itself; say so plainly before it does.
if [[ -n "$want_go" ]] && [[ "$(printf '%s\n%s\n' "go$want_go" "$goversion" | sort -V | head -n1)" != "go$want_go" ]]; then
	die "the tree needs Go $want_go or newer (go.mod); this go is $goversion"
fi

# --- Version of the tree and its cache directory (the proxy build's rule) -----------------------
# shellcheck source-path=SCRIPTDIR source=../agentgateway/tree.sh
. "$REPO_ROOT/clusters/agentgateway/tree.sh"
BIN="$CACHE/bin/agentgateway-controller"
STAMP="$BIN.inputs"
CRDS="$CACHE/controller/crds"
LOGS="$CACHE/controller/logs"
LOG="$LOGS/go-build.log"
mkdir -p "$CACHE/bin" "$LOGS" "$CACHE/controller/tools"

# --- Fingerprint of the inputs -------------------------------------------------------------------
tree_sha="$(cd "$SRC" && {
	sha256sum go.mod go.sum
	find controller api -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
} | sha256sum | cut -d' ' -f1)"
inputs_sha="$({
	echo "tree $tree_sha"
	echo "version $SRC_VERSION"
	echo "go $goversion $(go env GOOS GOARCH | tr '\n' ' ')"
	echo "flags $GOFLAGS CGO_ENABLED=$CGO_ENABLED"
	cat "${BASH_SOURCE[0]}"
	cat "$CRDPREP_SRC/go.mod" "$CRDPREP_SRC/go.sum" "$CRDPREP_SRC/main.go"
} | sha256sum | cut -d' ' -f1)"

# One build per version directory at a time.
exec 9>"$CACHE/.lock-controller"
if command -v flock >/dev/null 2>&1; then
	flock -n 9 || {
		log "another controller build for $SRC_VERSION is running; waiting for it"
		flock 9
	}
fi

if [[ "$force" == 1 ]]; then
	rm -f "$STAMP"
fi
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$inputs_sha" && -f "$CRDS/.done" ]]; then
	log "cached agentgateway controller $SRC_VERSION ($version_how)"
	echo "$BIN" >&3
	exit 0
fi

# --- Module download failures, named -------------------------------------------------------------
# go reports an unfetchable module as "<module>@<version>: <reason>" (reading .../@v/...: 404,
# verifying ...: checksum mismatch, unknown revision, ...). Print each such module once.
report_modules() { # log-file
	local mods
	mods="$(grep -Eo '[A-Za-z0-9][A-Za-z0-9._~/-]*@v[0-9][A-Za-z0-9._+-]*: (reading|verifying|unknown revision|invalid version|unrecognized import|git ls-remote|module lookup disabled|missing go.sum entry)[^"]*' "$1" |
		sort -u || true)"
	if [[ -n "$mods" ]]; then
		log "these Go modules could not be downloaded (module@version: reason):"
		printf '%s\n' "$mods" | sed 's/^/agw-controller-build:   /'
	fi
	grep -Eo 'missing go.sum entry for module providing package [^ ;]+' "$1" | sort -u | sed 's/^/agw-controller-build:   /' || true
}

# --- Build ---------------------------------------------------------------------------------------
start_ts="$(date +%s)"
log "building the agentgateway controller $SRC_VERSION ($version_how) with $goversion"
log "source:    $SRC ($PKG)"
log "cache dir: $CACHE"
{
	echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) go build $PKG ($goversion, GOFLAGS=$GOFLAGS, GOPROXY=$(go env GOPROXY))"
} >>"$LOG"
tmp="$BIN.tmp.$$"
if ! go build -C "$SRC" -trimpath -ldflags "-s -w -X $VERSION_VAR=$SRC_VERSION" -o "$tmp" "$PKG" >>"$LOG" 2>&1; then
	rm -f "$tmp"
	tail -n 30 "$LOG" | sed 's/^/agw-controller-build: | /'
	report_modules "$LOG"
	die "go build $PKG failed after $(($(date +%s) - start_ts))s (full output: $LOG)"
fi
mv -f "$tmp" "$BIN"
build_seconds=$(($(date +%s) - start_ts))
echo "== built in ${build_seconds}s" >>"$LOG"
log "built the controller in ${build_seconds}s: $("$BIN" --version 2>/dev/null || echo '?')"

# --- CRDs ----------------------------------------------------------------------------------------
crdhash="$(cat "$CRDPREP_SRC/go.mod" "$CRDPREP_SRC/go.sum" "$CRDPREP_SRC/main.go" | sha256sum | cut -c1-12)"
crdprep="$CACHE/controller/tools/crdprep-$crdhash"
if [[ ! -x "$crdprep" ]]; then
	go build -C "$CRDPREP_SRC" -trimpath -ldflags "-s -w" -o "$crdprep.tmp.$$" . >>"$LOG" 2>&1 ||
		die "building crdprep failed (see $LOG)"
	mv -f "$crdprep.tmp.$$" "$crdprep"
fi

gwapi_version="$(go list -C "$SRC" -m -f '{{.Version}}' sigs.k8s.io/gateway-api 2>>"$LOG")" ||
	die "cannot read the sigs.k8s.io/gateway-api requirement from $SRC/go.mod (see $LOG)"
gwjson="$(go mod download -json "sigs.k8s.io/gateway-api@$gwapi_version" 2>>"$LOG" || true)"
gwdir="$(printf '%s\n' "$gwjson" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$gwdir" || ! -d "$gwdir/config/crd/standard" ]]; then
	printf '%s\n' "$gwjson" >>"$LOG"
	report_modules "$LOG"
	die "cannot download the Go module sigs.k8s.io/gateway-api@$gwapi_version (its CRDs are needed)"
fi

rm -rf "$CRDS.new"
mkdir -p "$CRDS.new"
"$crdprep" -out "$CRDS.new" "$gwdir"/config/crd/standard/gateway.networking.k8s.io_*.yaml >>"$LOG" 2>&1 ||
	die "preparing the Gateway API $gwapi_version CRDs failed (see $LOG)"
"$crdprep" -out "$CRDS.new" -helm-values "$SRC/$CRD_CHART/values.yaml" "$SRC/$CRD_CHART"/templates/*.yaml >>"$LOG" 2>&1 ||
	die "rendering $CRD_CHART from $SRC failed (see $LOG)"
[[ -f "$CRDS.new/agentgatewaypolicies.agentgateway.dev.yaml" ]] ||
	die "$CRD_CHART has no AgentgatewayPolicy CRD"
{
	echo "gateway-api: sigs.k8s.io/gateway-api@$gwapi_version config/crd/standard (the version the tree's go.mod requires; Go module proxy)"
	echo "agentgateway: real: $SRC_VERSION $CRD_CHART/templates"
} >"$CRDS.new/SOURCES"
touch "$CRDS.new/.done"
rm -rf "$CRDS"
mv "$CRDS.new" "$CRDS"
log "CRDs: $(find "$CRDS" -name '*.yaml' | wc -l) in $CRDS (Gateway API $gwapi_version standard, agentgateway $SRC_VERSION)"

echo "$inputs_sha" >"$STAMP"
echo "$BIN" >&3
