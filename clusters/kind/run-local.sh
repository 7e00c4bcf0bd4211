#!/usr/bin/env bash
# The kind tier on a machine that reaches no image registry: the whole suite on a kind cluster
# with the real agentgateway, everything built here.
#
#   AGW_AGENTGATEWAY_SRC=/path/to/agentgateway clusters/kind/run-local.sh [pytest options]
#
# 1. a container engine: the running one, else a dockerd of our own (engine.sh), stopped at
#    the end if this script started it;
# 2. the kind node image (node/build.sh) and the images of the agentgateway controller and
#    proxy and of go-httpbin (images.sh), from the same builds the envtest tier uses;
# 3. `pytest features/ --target=kind`, which runs up.sh (cluster, Gateway API CRDs, the tree's
#    Helm charts with the image registry, tag and pull policy overridden, the docs page's
#    "Before you begin"), the suite, and down.sh.
#
# The workflow (.github/workflows/conformance.yml) runs the same up.sh and down.sh with
# images, charts and CRDs from their registries.
set -euo pipefail

kind_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$kind_dir/lib.sh"

[[ -n "${AGW_AGENTGATEWAY_SRC:-}" ]] ||
    die "AGW_AGENTGATEWAY_SRC is not set: point it at an agentgateway source tree (tag $AGW_UPSTREAM_TAG) to build the controller, proxy and charts from"
[[ -d "$AGW_AGENTGATEWAY_SRC/controller/install/helm/agentgateway" ]] ||
    die "AGW_AGENTGATEWAY_SRC=$AGW_AGENTGATEWAY_SRC has no controller/install/helm/agentgateway chart"

# Lines of KEY=value from a build script, exported.
export_lines() {
    local key value
    while IFS='=' read -r key value; do
        [[ "$key" =~ ^[A-Z_]+$ ]] && export "$key=$value"
    done
}

engine_was_ours=0
if [[ -z "${DOCKER_HOST:-}" ]] && ! docker version >/dev/null 2>&1; then
    engine_was_ours=1
fi
engine_env="$("$kind_dir/engine.sh" start)"
[[ -n "$engine_env" ]] && eval "$engine_env"
# shellcheck disable=SC2317  # run from the EXIT trap
stop_engine() { if ((engine_was_ours)); then "$kind_dir/engine.sh" stop; fi; }
trap stop_engine EXIT

# Each build's output is taken whole, so a failing build stops the run with its own message
# (read through process substitution, its exit status was lost).
built="$("$kind_dir/node/build.sh")" || die "the node image build (node/build.sh) failed; its messages are above"
export_lines <<<"$built"
built="$("$kind_dir/images.sh")" || die "the image builds (images.sh) failed; their messages are above"
export_lines <<<"$built"
[[ -n "${KUBECTL:-}" ]] || die "node/build.sh printed no KUBECTL= line"

# The tools up.sh calls: kubectl of the node's version, helm at the pinned version.
tools="$(mktemp -d)"
trap 'rm -rf "$tools"; stop_engine' EXIT
ln -s "$KUBECTL" "$tools/kubectl"
if ! { command -v helm >/dev/null && [[ "$(helm version --template '{{.Version}}')" == "$HELM_VERSION" ]]; }; then
    helm_dir="$tools_cache/helm-$HELM_VERSION"
    if [[ ! -x "$helm_dir/helm" ]]; then
        log "building helm $HELM_VERSION into $helm_dir"
        GOBIN="$helm_dir" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
    fi
    ln -s "$helm_dir/helm" "$tools/helm"
fi
export PATH="$tools:$PATH"

export AGW_CHART_DIR="$AGW_AGENTGATEWAY_SRC/controller/install/helm"
gateway_api="$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
export GATEWAY_API_CRDS="$gateway_api/config/crd/standard"
[[ -d "$GATEWAY_API_CRDS" ]] || die "no Gateway API CRDs at $GATEWAY_API_CRDS"

cd "$kind_dir/../.."
status=0
pytest features/ --target=kind "$@" || status=$?
exit "$status"
