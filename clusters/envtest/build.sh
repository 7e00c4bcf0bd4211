#!/usr/bin/env bash
# Build (or reuse) the envtest control-plane assets from pinned Go modules.
#
#   clusters/envtest/build.sh [--force]
#
# Produces, in a cache directory outside the repository,
#
#   ${AGW_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agw-conformance/envtest}/<stamp>/
#       bin/kube-apiserver  bin/etcd  bin/go-httpbin     built once per <stamp>
#       tools/crdprep-<hash>          renders/validates CRD files (crdprep/)
#       crds-<origin>/                one assets directory per origin of the
#           bin/                      agentgateway CRDs (hard links to ../bin)
#           crds/<plural>.<group>.yaml    one CustomResourceDefinition per file
#           crds/SOURCES              where each set of CRDs came from
#
# <origin> says where the agentgateway CRDs came from, so CRDs of two kinds
# never share a directory:
#   real-agw-<version>                  the Go module of the pinned agentgateway
#                                       release (AGW_UPSTREAM_TAG in
#                                       ../agentgateway/versions.env)
#   real-agw-<version>-src-<hash>       a local source tree (AGW_AGENTGATEWAY_SRC;
#                                       its git tag, or a version in its directory
#                                       name, and a hash of its CRD chart)
#   standin-<hash>                      this project's stand-in (standin/), when
#                                       neither is available; a WARNING says so on
#                                       every run that uses it
#
# It prints the assets directory's bin as its LAST line on stdout: that is the
# value for KUBEBUILDER_ASSETS (the envtest convention: a directory holding
# kube-apiserver and etcd; the CRDs are in ../crds). Everything else, the
# progress included, goes to stderr.
#
# <stamp> names the pinned versions plus a hash of the pins and of the wrapper
# modules' sources (go.mod, go.sum, *.go), so changing a pin builds a new
# directory; an existing complete directory is reused. --force rebuilds it.
#
# Versions come from versions.env and, for agentgateway, from
# ../agentgateway/versions.env (the one home of every agentgateway version). Inputs:
#   AGW_ENVTEST_CACHE         cache root (see above)
#   AGW_AGENTGATEWAY_SRC      a local agentgateway source tree to take the
#                             agentgateway CRD chart from instead of the Go
#                             module proxy
#   AGW_ENVTEST_REQUIRE_AGENTGATEWAY_CRD=1
#                             fail instead of warning when the agentgateway
#                             CRDs cannot be obtained
# Needs: go (the version in the go.mod files or newer; GOTOOLCHAIN=local is
# forced, so no toolchain is downloaded), the Go module proxy, sha256sum.
# A cold build (empty Go build cache) takes about 4 minutes on 2 cores, nearly
# all of it kube-apiserver; with the binaries cached, a few seconds.
set -euo pipefail

# Bump when the layout of the output directory changes.
BUILD_FORMAT=1
REQUIRED_CEL_MESSAGE='exactly one of the fields in [secretRef secretSelector configMapSelector] must be set'
AGW_CHART_DIR=controller/install/helm/agentgateway-crds

exec 3>&1 1>&2 # keep stdout for the final path only
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[envtest build] %s\n' "$*"; }
die() { printf '[envtest build] ERROR: %s\n' "$*"; exit 1; }

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,48p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (usage: build.sh [--force])" ;;
    esac
done

# ---- pins ----
[[ -f "$here/versions.env" ]] || die "missing $here/versions.env"
# shellcheck source=versions.env
source "$here/versions.env"
[[ -f "$here/../agentgateway/versions.env" ]] || die "missing $here/../agentgateway/versions.env"
# shellcheck source=../agentgateway/versions.env
source "$here/../agentgateway/versions.env"
for v in KUBERNETES_VERSION ETCD_VERSION GO_HTTPBIN_VERSION GATEWAY_API_VERSION \
         AGW_UPSTREAM_MODULE AGW_UPSTREAM_TAG; do
    [[ -n "${!v:-}" ]] || die "$v is not set in versions.env or ../agentgateway/versions.env"
done
AGENTGATEWAY_MODULE="$AGW_UPSTREAM_MODULE"
AGENTGATEWAY_VERSION="$AGW_UPSTREAM_TAG"

# The official Go install location, in case it is not on PATH.
command -v go >/dev/null || { [[ -x /usr/local/go/bin/go ]] && PATH="$PATH:/usr/local/go/bin"; }
command -v go >/dev/null || die "go not found on PATH (need Go >= 1.26)"
command -v sha256sum >/dev/null || die "sha256sum not found"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
goversion="$(go env GOVERSION)"

# The committed go.mod files must agree with versions.env.
require_pin() { # module-dir module version
    grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2[[:space:]]+$3([[:space:]]|$)" "$here/$1/go.mod" ||
        die "$1/go.mod does not require $2 $3 (versions.env); run clusters/envtest/pin.sh $1 and commit the result"
}
require_pin apiserver k8s.io/kubernetes "$KUBERNETES_VERSION"
require_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
require_pin httpbin github.com/mccutchen/go-httpbin/v2 "$GO_HTTPBIN_VERSION"

# ---- stamp and cache dir ----
srchash="$(
    {
        echo "format=$BUILD_FORMAT go=$goversion $(go env GOOS GOARCH | tr '\n' ' ')"
        cat "$here/versions.env"
        echo "agentgateway=$AGENTGATEWAY_MODULE@$AGENTGATEWAY_VERSION"
        # crdprep is left out: it is keyed by its own hash below, so a change to the
        # CRD tool does not rebuild kube-apiserver.
        for m in apiserver etcd httpbin; do
            for f in "$here/$m"/go.mod "$here/$m"/go.sum "$here/$m"/*.go; do
                [[ -f "$f" && "$f" != *_test.go ]] || continue
                echo "== $m/$(basename "$f")"; cat "$f"
            done
        done
    } | sha256sum | cut -c1-12
)"
stamp="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_httpbin-${GO_HTTPBIN_VERSION}_gwapi-${GATEWAY_API_VERSION}_agw-${AGENTGATEWAY_VERSION}_${srchash}"
cache_root="${AGW_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agw-conformance/envtest}"
dest="$cache_root/$stamp"
mkdir -p "$cache_root" || die "cannot create cache directory $cache_root"

# One build per stamp at a time.
exec 9>"$cache_root/.lock-$stamp"
if command -v flock >/dev/null; then
    flock -n 9 || { log "another build of $stamp is running; waiting for it"; flock 9; }
fi

if [[ "$force" == 1 && -d "$dest" ]]; then
    log "--force: removing $dest"
    rm -rf "$dest"
fi
mkdir -p "$dest/bin" "$dest/tools"

# ---- binaries ----
build() { # name module-dir ldflags
    local name="$1" dir="$2" ldflags="$3" out="$dest/bin/$1"
    if [[ -x "$out" ]]; then
        log "reusing $name"
        return
    fi
    log "building $name from $dir ($goversion)..."
    local start=$SECONDS tmp="$out.tmp.$$" pid next=$((SECONDS + 30))
    go build -C "$here/$dir" -trimpath -ldflags "-s -w $ldflags" -o "$tmp" . &
    pid=$!
    # go build is silent until it is done: say every 30 s that it is still going.
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if (( SECONDS >= next )); then
            log "still building $name ($((SECONDS - start))s so far)"
            next=$((next + 30))
        fi
    done
    wait "$pid" || { rm -f "$tmp"; die "building $name failed (see the go output above)"; }
    mv -f "$tmp" "$out"
    log "built $name in $((SECONDS - start))s"
}

[[ "$KUBERNETES_VERSION" =~ ^v([0-9]+)\.([0-9]+)\. ]] || die "bad KUBERNETES_VERSION $KUBERNETES_VERSION"
kv="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION"
kv+=" -X k8s.io/component-base/version.gitMajor=${BASH_REMATCH[1]}"
kv+=" -X k8s.io/component-base/version.gitMinor=${BASH_REMATCH[2]}"
kv+=" -X k8s.io/component-base/version.gitTreeState=clean"
[[ -x "$dest/bin/kube-apiserver" ]] ||
    log "kube-apiserver is the large build: about 4 minutes on 2 cores with an empty Go build cache"
build etcd etcd ""
build go-httpbin httpbin "-X main.version=$GO_HTTPBIN_VERSION"
build kube-apiserver apiserver "$kv"
crdhash="$(cat "$here"/crdprep/go.mod "$here"/crdprep/go.sum "$here"/crdprep/main.go | sha256sum | cut -c1-12)"
crdprep="$dest/tools/crdprep-$crdhash"
if [[ ! -x "$crdprep" ]]; then
    go build -C "$here/crdprep" -trimpath -ldflags "-s -w" -o "$crdprep.tmp.$$" . ||
        die "building crdprep failed"
    mv -f "$crdprep.tmp.$$" "$crdprep"
fi

# ---- CRDs ----
module_dir() { # module@version -> extracted module directory (module cache)
    local json dir
    json="$(go mod download -json "$1" 2>&1)" || true
    dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    if [[ -z "$dir" || ! -d "$dir" ]]; then
        printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' |
            sed 's/\\n/ /g; s/\\t/ /g' >&2
        return 1
    fi
    printf '%s\n' "$dir"
}

# ---- where the agentgateway CRDs come from: decides the assets directory ----
agw="$AGENTGATEWAY_MODULE@$AGENTGATEWAY_VERSION"
standin="$here/standin/agentgatewaypolicies.agentgateway.dev.yaml"
agw_chart="" agw_what="" agw_reason=""

use_standin() { # reason
    if [[ "${AGW_ENVTEST_REQUIRE_AGENTGATEWAY_CRD:-0}" == 1 ]]; then
        die "agentgateway CRDs: $1"
    fi
    agw_chart="" agw_reason="$1"
    origin="standin-$(sha256sum <"$standin" | cut -c1-12)"
}

chart_usable() { # chart-dir description
    if [[ ! -d "$1/templates" || ! -f "$1/values.yaml" ]]; then
        use_standin "$2 has no $AGW_CHART_DIR/{templates,values.yaml}"
        return 1
    fi
    if ! compgen -G "$1/templates/*.yaml" >/dev/null; then
        use_standin "$2: $AGW_CHART_DIR/templates has no YAML files"
        return 1
    fi
    agw_chart="$1" agw_what="$2"
}

tree_version() { # source-tree: its git tag, else a version in its directory name
    if [[ "$(git -C "$1" rev-parse --show-toplevel 2>/dev/null)" == "$(cd "$1" && pwd -P)" ]]; then
        git -C "$1" describe --tags --always 2>/dev/null && return
    fi
    basename "$1" | grep -Eo 'v?[0-9]+\.[0-9]+\.[0-9]+[-.+0-9A-Za-z]*$' && return
    echo unversioned
}

if [[ -n "${AGW_AGENTGATEWAY_SRC:-}" ]]; then
    [[ -d "$AGW_AGENTGATEWAY_SRC" ]] || die "AGW_AGENTGATEWAY_SRC=$AGW_AGENTGATEWAY_SRC is not a directory"
    if chart_usable "$AGW_AGENTGATEWAY_SRC/$AGW_CHART_DIR" "local source tree $AGW_AGENTGATEWAY_SRC"; then
        charthash="$(cd "$agw_chart" && find . -type f | LC_ALL=C sort | while read -r f; do echo "== $f"; cat "$f"; done | sha256sum | cut -c1-12)"
        origin="real-agw-$(tree_version "$AGW_AGENTGATEWAY_SRC")-src-$charthash"
    fi
else
    origin="real-agw-$AGENTGATEWAY_VERSION"
    # A complete directory for the pinned module is reused without asking the proxy.
    if [[ ! -f "$dest/crds-$origin/.done" ]]; then
        log "fetching agentgateway CRDs ($agw)"
        if agwdir="$(module_dir "$agw")"; then
            chart_usable "$agwdir/$AGW_CHART_DIR" "Go module $agw" || true
        else
            use_standin "the Go module proxy does not serve $agw"
        fi
    fi
fi
origin="${origin//[^A-Za-z0-9._+-]/_}"
assets="$dest/crds-$origin"

# ---- the assets directory: bin (links to the binaries) and crds ----
if [[ ! -f "$assets/.done" ]]; then
    log "preparing $assets"
    work="$(mktemp -d "$dest/.crds-$origin.XXXXXX")"
    mkdir -p "$work/bin" "$work/crds"
    for b in kube-apiserver etcd go-httpbin; do
        ln -f "$dest/bin/$b" "$work/bin/$b" 2>/dev/null || cp -f "$dest/bin/$b" "$work/bin/$b"
    done

    gw="sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
    log "fetching Gateway API standard CRDs ($gw)"
    gwdir="$(module_dir "$gw")" || die "cannot download Go module $gw"
    shopt -s nullglob
    gwfiles=("$gwdir"/config/crd/standard/gateway.networking.k8s.io_*.yaml)
    shopt -u nullglob
    [[ ${#gwfiles[@]} -gt 0 ]] || die "$gw has no config/crd/standard/gateway.networking.k8s.io_*.yaml"
    "$crdprep" -out "$work/crds" "${gwfiles[@]}" || die "preparing Gateway API CRDs failed"
    for want in gateways httproutes; do
        [[ -f "$work/crds/$want.gateway.networking.k8s.io.yaml" ]] || die "$gw standard channel lacks the $want CRD"
    done
    echo "gateway-api: $gw config/crd/standard (Go module proxy)" >"$work/crds/SOURCES"

    if [[ -n "$agw_chart" ]]; then
        log "rendering agentgateway CRDs from $agw_what"
        "$crdprep" -out "$work/crds" -helm-values "$agw_chart/values.yaml" "$agw_chart"/templates/*.yaml ||
            die "rendering the agentgateway CRD chart from $agw_what failed (see above)"
        pol="$work/crds/agentgatewaypolicies.agentgateway.dev.yaml"
        [[ -f "$pol" ]] || die "$agw_what: no AgentgatewayPolicy CRD (agentgatewaypolicies.agentgateway.dev) in $AGW_CHART_DIR/templates"
        # Ask the parsed CRD: a rendered file may wrap the message across lines.
        "$crdprep" -has-rule "$REQUIRED_CEL_MESSAGE" "$pol" ||
            die "$agw_what: the AgentgatewayPolicy CRD lacks the rule '$REQUIRED_CEL_MESSAGE' (too old a version?)"
        echo "agentgateway: real: $agw_what $AGW_CHART_DIR/templates" >>"$work/crds/SOURCES"
    else
        cp -f "$standin" "$work/crds/"
        echo "agentgateway: STAND-IN clusters/envtest/standin (written by this project) because $agw_reason" >>"$work/crds/SOURCES"
    fi
    touch "$work/.done"
    rm -rf "$assets"
    mv "$work" "$assets"
fi

for b in kube-apiserver etcd go-httpbin; do
    [[ -x "$assets/bin/$b" ]] || die "internal error: $assets/bin/$b missing"
done
# Every run on the stand-in says so, not only the one that installed it.
if grep -q '^agentgateway: STAND-IN' "$assets/crds/SOURCES"; then
    log "WARNING: the real agentgateway CRDs are not available: $(sed -n 's/^agentgateway: STAND-IN.* because //p' "$assets/crds/SOURCES")"
    log "WARNING: using this project's stand-in AgentgatewayPolicy CRD; set AGW_AGENTGATEWAY_SRC to a local agentgateway checkout to use the real one"
fi
shopt -s nullglob
crd_files=("$assets"/crds/*.yaml)
shopt -u nullglob
log "ready: ${#crd_files[@]} CRDs ($origin); KUBEBUILDER_ASSETS=$assets/bin"
echo "$assets/bin" >&3
