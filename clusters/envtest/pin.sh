#!/usr/bin/env bash
# Regenerate the wrapper modules' go.mod/go.sum from versions.env.
#
#   clusters/envtest/pin.sh            # all modules
#   clusters/envtest/pin.sh apiserver  # just one (apiserver|etcd|httpbin|crdprep)
#
# Run this after changing a Go module pin in versions.env, then commit the
# resulting go.mod/go.sum files (builds use them with -mod=readonly, so they are
# reproducible). Needs the Go toolchain and the Go module proxy.
#
# k8s.io/kubernetes requires every k8s.io/<staging> module at v0.0.0 (they live
# in its staging/ tree, wired up by replace directives that only apply inside
# that repository). A module depending on k8s.io/kubernetes therefore needs its
# own `replace k8s.io/<staging> => k8s.io/<staging> v0.X.Y` for each of them;
# this script derives that list from the pinned kubernetes go.mod.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

log() { printf 'pin.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
command -v go >/dev/null || { [[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"; }
command -v go >/dev/null || die "go not found on PATH (need Go >= 1.26)"

# go_mod_path MODULE@VERSION -> path of that version's go.mod in the module cache
go_mod_path() {
    local json path
    json="$(go mod download -json "$1")" || die "go mod download $1 failed: $json"
    path="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
    [[ -n "$path" && -f "$path" ]] || die "no GoMod for $1 in: $json"
    printf '%s\n' "$path"
}

# Write a fresh go.mod for module dir $1 (module path $2) requiring $3...
fresh_mod() {
    local name="$1" dir="$here/$1" mod="$2"; shift 2
    log "$name: resetting go.mod"
    rm -f "$dir/go.mod" "$dir/go.sum"
    (cd "$dir" && go mod init "$mod" >/dev/null 2>&1 && go mod edit -go=1.26.0)
    local req
    for req in "$@"; do (cd "$dir" && go mod edit -require="$req"); done
}

tidy() {
    log "$1: go mod tidy"
    (cd "$here/$1" && go mod tidy && go mod verify >/dev/null)
}

pin_apiserver() {
    local kv="$KUBERNETES_VERSION" staging_v gomod
    [[ "$kv" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "KUBERNETES_VERSION must look like v1.N.M, got $kv"
    staging_v="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
    gomod="$(go_mod_path "k8s.io/kubernetes@$kv")"
    fresh_mod apiserver envtest/apiserver "k8s.io/kubernetes@$kv"
    # Every `k8s.io/<name> v0.0.0` requirement of k8s.io/kubernetes is a staging module.
    local names
    names="$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod" | sort -u)"
    [[ -n "$names" ]] || die "found no k8s.io/* v0.0.0 requirements in $gomod"
    local n count=0
    for n in $names; do
        (cd "$here/apiserver" && go mod edit -replace="$n=$n@$staging_v")
        count=$((count + 1))
    done
    log "apiserver: $count staging replaces at $staging_v"
    tidy apiserver
}

pin_etcd() {
    fresh_mod etcd envtest/etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    tidy etcd
}

pin_httpbin() {
    fresh_mod httpbin envtest/httpbin "github.com/mccutchen/go-httpbin/v2@$GO_HTTPBIN_VERSION"
    tidy httpbin
}

pin_crdprep() {
    # crdprep's only dependency (sigs.k8s.io/yaml) is not a pin of its own:
    # tidy picks the newest release.
    fresh_mod crdprep envtest/crdprep
    tidy crdprep
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(apiserver etcd httpbin crdprep)
for t in "${targets[@]}"; do
    case "$t" in
        apiserver|etcd|httpbin|crdprep) "pin_$t" ;;
        *) die "unknown module '$t' (want apiserver, etcd, httpbin or crdprep)" ;;
    esac
done
log "done; commit the go.mod/go.sum files under clusters/envtest/"
