# Shared by up.sh and down.sh: the pins, and the kind binary. Source it; do not run it.
# shellcheck shell=bash

kind_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../envtest/versions.env
source "$kind_dir/../envtest/versions.env"
# shellcheck source=../agentgateway/versions.env
source "$kind_dir/../agentgateway/versions.env"
# A node image named in the environment (a local build) wins over the pinned kindest/node.
node_image_from_env="${KIND_NODE_IMAGE:-}"
# shellcheck source=versions.env
source "$kind_dir/versions.env"
KIND_NODE_IMAGE="${node_image_from_env:-$KIND_NODE_IMAGE}"

KIND_CLUSTER_NAME="${KIND_CLUSTER_NAME:-agw-conformance}"
AGW_CHART_VERSION="${AGW_CHART_VERSION:-$AGW_UPSTREAM_TAG}"
tools_cache="${AGW_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agw-conformance/tools}"

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Install the Debian packages named as "command:package" whose command is missing, the way
# the engine installs docker.io: apt-get, through sudo when not root. A machine without
# apt-get stops here with the command to run.
need_debian_packages() {
    local pair missing=() sudo=()
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null || [[ -x "/usr/sbin/${pair%%:*}" ]] || missing+=("${pair#*:}")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null ||
        die "missing ${missing[*]}; install Debian's ${missing[*]} (apt-get install ${missing[*]}) or your system's equivalent"
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    log "installing Debian's ${missing[*]}"
    { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >&2 || die "apt-get install ${missing[*]} failed; run it yourself: ${sudo[*]} apt-get install ${missing[*]}"
}

# The kind command: $KIND, else kind on PATH at the pinned version, else built once from
# its Go module into the tools cache.
kind_bin() {
    if [[ -n "${KIND:-}" ]]; then
        printf '%s\n' "$KIND"
        return
    fi
    if command -v kind >/dev/null && [[ "$(kind version 2>/dev/null)" == "kind $KIND_VERSION "* ]]; then
        command -v kind
        return
    fi
    local dir="$tools_cache/kind-$KIND_VERSION"
    if [[ ! -x "$dir/kind" ]]; then
        command -v go >/dev/null || die "kind $KIND_VERSION is not on PATH and Go is not installed to build it"
        log "building kind $KIND_VERSION into $dir"
        GOBIN="$dir" GOFLAGS=-mod=mod go install "sigs.k8s.io/kind@$KIND_VERSION" >&2
    fi
    printf '%s\n' "$dir/kind"
}

need() {
    local missing=() tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    ((${#missing[@]} == 0)) || die "missing on PATH: ${missing[*]}"
}

# import_image NAME BASE_TAR BINARY PATH_IN_IMAGE [docker import --change ...]: an image made of
# a filesystem tarball with one binary added (the node's component images, the agentgateway
# images). Only the file is appended: docker import refuses a second entry for a directory
# the tarball already has.
import_image() {
    local name="$1" base="$2" binary="$3" path="${4#/}" dir
    shift 4
    dir="$(mktemp -d)"
    mkdir -p "$dir/root/$(dirname "$path")"
    install -m 755 "$binary" "$dir/root/$path"
    cp "$base" "$dir/image.tar"
    tar -C "$dir/root" --no-recursion -rf "$dir/image.tar" "./$path"
    docker import "$@" - "$name" <"$dir/image.tar" >/dev/null
    rm -rf "$dir"
}
