#!/usr/bin/env bash
# Delete the kind cluster up.sh made (KIND_CLUSTER_NAME, default agw-conformance).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kind="$(kind_bin)"
if "$kind" get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"; then
    "$kind" delete cluster --name "$KIND_CLUSTER_NAME"
else
    log "no kind cluster named $KIND_CLUSTER_NAME"
fi
