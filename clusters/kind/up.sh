#!/usr/bin/env bash
# Bring up (or reuse) a kind cluster with agentgateway installed as its docs install it:
# Gateway API standard CRDs, the agentgateway CRD and control-plane Helm charts, then the
# docs page's "Before you begin" (Gateway agentgateway-proxy, httpbin and its HTTPRoute).
#
#   clusters/kind/up.sh KUBECONFIG_OUT
#
# Environment: KIND_CLUSTER_NAME (default agw-conformance), AGW_CHART_VERSION (default
# AGW_UPSTREAM_TAG), KIND (a kind binary), KIND_NODE_IMAGE (default: the pinned kindest/node).
# The gateway answers on http://127.0.0.1:30080.
#
# Where no registry is reachable (clusters/kind/run-local.sh sets these), the same steps take
# their inputs from local builds instead; nothing else changes:
#   AGW_CHART_DIR          a source tree's controller/install/helm (both charts) instead of
#                          oci://cr.agentgateway.dev/charts
#   GATEWAY_API_CRDS       a file or directory of the Gateway API standard CRDs instead of the
#                          release's standard-install.yaml
#   AGW_LOAD_IMAGES        images to `kind load` into the cluster before installing
#   AGW_IMAGE_REGISTRY, AGW_IMAGE_TAG, AGW_IMAGE_PULL_POLICY
#                          the charts' image.registry, image.tag and image.pullPolicy, the
#                          only values set besides values-agentgateway.yaml
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="${1:?usage: up.sh KUBECONFIG_OUT}"
need kubectl helm curl
kind="$(kind_bin)"

if "$kind" get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"; then
    log "reusing kind cluster $KIND_CLUSTER_NAME"
else
    log "creating kind cluster $KIND_CLUSTER_NAME ($KIND_NODE_IMAGE)"
    "$kind" create cluster --name "$KIND_CLUSTER_NAME" --image "$KIND_NODE_IMAGE" \
        --config "$kind_dir/kind-config.yaml" --wait 120s
fi
"$kind" get kubeconfig --name "$KIND_CLUSTER_NAME" >"$out"
export KUBECONFIG="$out"

for image in ${AGW_LOAD_IMAGES:-}; do
    log "loading $image"
    "$kind" load docker-image --name "$KIND_CLUSTER_NAME" "$image"
done

log "Gateway API $GATEWAY_API_VERSION standard CRDs"
kubectl apply --server-side -f "${GATEWAY_API_CRDS:-https://github.com/kubernetes-sigs/gateway-api/releases/download/$GATEWAY_API_VERSION/standard-install.yaml}"

charts=(oci://cr.agentgateway.dev/charts/agentgateway-crds oci://cr.agentgateway.dev/charts/agentgateway)
chart_args=(--version "$AGW_CHART_VERSION")
if [[ -n "${AGW_CHART_DIR:-}" ]]; then
    charts=("$AGW_CHART_DIR/agentgateway-crds" "$AGW_CHART_DIR/agentgateway")
    chart_args=()
fi
image_args=()
[[ -n "${AGW_IMAGE_REGISTRY:-}" ]] && image_args+=(--set "image.registry=$AGW_IMAGE_REGISTRY")
[[ -n "${AGW_IMAGE_TAG:-}" ]] && image_args+=(--set "image.tag=$AGW_IMAGE_TAG")
[[ -n "${AGW_IMAGE_PULL_POLICY:-}" ]] && image_args+=(--set "image.pullPolicy=$AGW_IMAGE_PULL_POLICY")

log "agentgateway ${AGW_CHART_DIR:-$AGW_CHART_VERSION}: CRDs and control plane"
helm upgrade -i agentgateway-crds "${charts[0]}" "${chart_args[@]}" \
    --namespace agentgateway-system --create-namespace --wait
helm upgrade -i agentgateway "${charts[1]}" "${chart_args[@]}" "${image_args[@]}" \
    --namespace agentgateway-system --values "$kind_dir/values-agentgateway.yaml" --wait --timeout 5m

log "before you begin: Gateway, httpbin, HTTPRoute"
sed "s/\${GO_HTTPBIN_VERSION}/$GO_HTTPBIN_VERSION/" "$kind_dir/base.yaml" | kubectl apply -f -
kubectl -n httpbin rollout status deploy/httpbin --timeout=180s
kubectl -n agentgateway-system wait gateway/agentgateway-proxy --for=condition=Programmed --timeout=180s
kubectl -n agentgateway-system wait pod -l gateway.networking.k8s.io/gateway-name=agentgateway-proxy \
    --for=condition=Ready --timeout=180s

# Through the port mapping, the way the suite will send its requests.
for _ in $(seq 60); do
    if curl -fsS -o /dev/null -H 'Host: www.example.com' http://127.0.0.1:30080/status/200; then
        log "gateway answers at http://127.0.0.1:30080"
        exit 0
    fi
    sleep 2
done
die "the gateway did not answer at http://127.0.0.1:30080 within 120 s"
