#!/usr/bin/env bash
# Container images of the real agentgateway and of go-httpbin, built here from the same
# builds the envtest tier uses, for a machine that reaches no image registry.
#
#   AGW_AGENTGATEWAY_SRC=/path/to/agentgateway clusters/kind/images.sh
#
# Prints, one per line, KEY=value settings for up.sh:
#
#   AGW_IMAGE_REGISTRY=agw.local             the chart's image.registry
#   AGW_IMAGE_TAG=<version>                  the chart's image.tag (the build's version)
#   AGW_IMAGE_PULL_POLICY=Never              the chart's image.pullPolicy: never pull
#   AGW_LOAD_IMAGES=<image> <image> ...      what up.sh loads into the cluster (kind load)
#
# Images, named as the chart and the docs' sample expect them:
#   agw.local/controller:<version>      the controller (clusters/agentgateway-controller/build.sh)
#   agw.local/agentgateway:<version>    the proxy (clusters/agentgateway/build.sh)
#   docker.io/mccutchen/go-httpbin:<GO_HTTPBIN_VERSION>   go-httpbin (clusters/envtest/build.sh)
# The proxy and controller images follow upstream's Dockerfiles (entrypoints, user, the
# proxy's AGENTGATEWAY_ENV=container) on a minimal Debian instead of their Chainguard bases.
set -euo pipefail

kind_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$kind_dir/lib.sh"

[[ -n "${AGW_AGENTGATEWAY_SRC:-}" ]] || die "AGW_AGENTGATEWAY_SRC is not set: point it at an agentgateway source tree"
docker version >/dev/null 2>&1 || die "no container engine answers (start one: eval \"\$(clusters/kind/engine.sh start)\")"

last_line() { grep -v '^[[:space:]]*$' | tail -n 1; }
proxy="$(bash "$kind_dir/../agentgateway/build.sh" | last_line)"
controller="$(bash "$kind_dir/../agentgateway-controller/build.sh" | last_line)"
[[ -x "$proxy" && -x "$controller" ]] || die "the agentgateway builds printed no binaries ($proxy, $controller)"
# The cache directory's name is the build's version (v1.4.1, src-<hash>, or git describe).
version="$(basename "$(dirname "$(dirname "$proxy")")")"
httpbin="$(bash "$kind_dir/../envtest/build.sh" | last_line)/go-httpbin"
[[ -x "$httpbin" ]] || die "the envtest build made no go-httpbin at $httpbin"

# The base: the slim Debian filesystem the node image build made (glibc for the proxy,
# CA certificates for both).
slim="$(find "${AGW_KIND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agw-conformance/kind}" \
    -maxdepth 1 -name "slim-$NODE_DEBIAN_SUITE-*.tar" -print -quit)"
[[ -s "$slim" ]] || die "no slim Debian filesystem in the kind cache: run clusters/kind/node/build.sh first"

image() { # name binary path-in-image user env entrypoint-json
    local sha
    sha="$(sha256sum <"$2" | cut -c1-64)"
    if docker image inspect "$1" >/dev/null 2>&1 &&
        [[ "$(docker image inspect -f '{{index .Config.Labels "agw.binary-sha256"}}' "$1")" == "$sha" ]]; then
        log "reusing $1"
        return
    fi
    local changes=(--change "ENTRYPOINT $6" --change "LABEL agw.binary-sha256=$sha")
    [[ -n "$4" ]] && changes+=(--change "USER $4")
    [[ -n "$5" ]] && changes+=(--change "ENV $5")
    import_image "$1" "$slim" "$2" "$3" "${changes[@]}"
    log "built $1"
}

registry=agw.local
image "$registry/controller:$version" "$controller" /usr/local/bin/agentgateway 10101 "" \
    '["/usr/local/bin/agentgateway"]'
image "$registry/agentgateway:$version" "$proxy" /app/agentgateway "" "AGENTGATEWAY_ENV=container" \
    '["/app/agentgateway"]'
image "docker.io/mccutchen/go-httpbin:$GO_HTTPBIN_VERSION" "$httpbin" /bin/go-httpbin "" "" \
    '["/bin/go-httpbin"]'

printf 'AGW_IMAGE_REGISTRY=%s\n' "$registry"
printf 'AGW_IMAGE_TAG=%s\n' "$version"
printf 'AGW_IMAGE_PULL_POLICY=Never\n'
printf 'AGW_LOAD_IMAGES=%s\n' "$registry/controller:$version $registry/agentgateway:$version docker.io/mccutchen/go-httpbin:$GO_HTTPBIN_VERSION"
