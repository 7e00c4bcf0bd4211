#!/usr/bin/env bash
# Build a kind node image on a machine that reaches no image registry.
#
#   clusters/kind/node/build.sh          # reuses the image when its pins have not changed
#   clusters/kind/node/build.sh --force  # rebuilds the image (binaries stay cached)
#
# Prints KIND_NODE_IMAGE=<image> and KUBECTL=<a kubectl of the same version>, for up.sh.
# Needs a container engine (clusters/kind/engine.sh), Go, gcc, debootstrap and root (or sudo)
# for debootstrap. Everything comes from Debian's packages and the Go module proxy:
#
#   base filesystem   Debian NODE_DEBIAN_SUITE: systemd, containerd, runc, CNI plugins, iptables
#   node binaries     kubelet, kubeadm, kubectl (k8s.io/kubernetes), crictl (cri-tools)
#   preloaded images  kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd,
#                     coredns and pause, under the names and tags `kubeadm config images list`
#                     gives for NODE_KUBERNETES_VERSION; the build refuses a pin that disagrees
#
# The pod network is a static point-to-point CNI configuration for one node (files/etc/cni):
# kind's kindnetd is not served by any registry reachable here. Binaries and Debian
# filesystems are cached under ~/.cache/agw-conformance/kind, each keyed by its own inputs;
# the image lives in the engine, named agw-kind-node:<kubernetes version>-<hash of all inputs>.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/../lib.sh
source "$here/../lib.sh"

force=0
[[ "${1:-}" == --force ]] && force=1

# debootstrap is installed from Debian's packages as the engine installs docker.io; the
# rest comes with the machine (Go, gcc) or the engine.
need_debian_packages debootstrap:debootstrap
PATH="$PATH:/usr/sbin"
for tool in go gcc debootstrap docker sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
docker version >/dev/null 2>&1 || die "no container engine answers (start one: eval \"\$(clusters/kind/engine.sh start)\")"
sudo=()
[[ "$(id -u)" == 0 ]] || sudo=(sudo)

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
kv="$NODE_KUBERNETES_VERSION"
[[ "$kv" =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || die "NODE_KUBERNETES_VERSION must look like v1.N.M, got $kv"
minor="${BASH_REMATCH[1]}"

# The image's stamp covers every input; the binaries and the Debian filesystems are cached
# apart, keyed by their own inputs, so editing a node file does not rebuild them.
hash_of() { sha256sum | cut -c1-12; }
stamp="$(
    {
        echo "go=$(go env GOVERSION)"
        cat "$here/../versions.env"
        find "$here" -type f ! -name '*.md' -print0 | sort -z | xargs -0 sha256sum | sed "s|$here/||"
    } | hash_of
)"
image="agw-kind-node:$kv-$stamp"
cache_root="${AGW_KIND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agw-conformance/kind}"
bin="$cache_root/bin-$kv-$(
    { go env GOVERSION; cat "$here/../versions.env" "$here"/*/go.mod "$here"/*/go.sum; } | hash_of)"

result() { printf 'KIND_NODE_IMAGE=%s\nKUBECTL=%s\n' "$image" "$bin/kubectl"; }
if [[ "$force" == 0 && -x "$bin/kubectl" ]] && docker image inspect "$image" >/dev/null 2>&1; then
    log "reusing $image"
    result
    exit 0
fi
mkdir -p "$bin"
exec 9>"$cache_root/.lock"
flock 9

# ---- binaries, from the Go modules in this directory ----
gobuild() { # output module-dir package [ldflags]
    local out="$bin/$1"
    [[ -x "$out" ]] && return
    log "building $1 ($3)"
    local start=$SECONDS
    go build -C "$here/$2" -trimpath -ldflags "-s -w ${4:-}" -o "$out.tmp" "$3"
    mv "$out.tmp" "$out"
    log "built $1 in $((SECONDS - start)) s"
}
version_flags="-X k8s.io/component-base/version.gitVersion=$kv"
version_flags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
version_flags+=" -X k8s.io/component-base/version.gitTreeState=clean"
for cmd in kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    gobuild "$cmd" kubernetes "k8s.io/kubernetes/cmd/$cmd" "$version_flags"
done
gobuild etcd etcd go.etcd.io/etcd/server/v3
gobuild coredns coredns github.com/coredns/coredns
gobuild crictl crictl sigs.k8s.io/cri-tools/cmd/crictl

# pause is a C program in the kubernetes tree.
k8s_dir="$(cd "$here/kubernetes" && go mod download -json "k8s.io/kubernetes@$kv" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
pause_version="$(sed -n 's/^TAG ?= //p' "$k8s_dir/build/pause/Makefile")"
if [[ ! -x "$bin/pause" ]]; then
    gcc -Os -Wall -static -DVERSION="v$pause_version" -o "$bin/pause" "$k8s_dir/build/pause/linux/pause.c"
fi

# ---- the image names kubeadm will ask for, checked against the pins ----
mapfile -t wanted < <("$bin/kubeadm" config images list --kubernetes-version "$kv" 2>/dev/null)
image_of() { # component -> the full name kubeadm wants
    local name
    for name in "${wanted[@]}"; do
        [[ "${name%:*}" == */"$1" ]] && { printf '%s\n' "$name"; return; }
    done
    die "kubeadm $kv lists no $1 image: ${wanted[*]}"
}
etcd_tag="$(image_of etcd)"; etcd_tag="${etcd_tag##*:}"
[[ "$etcd_tag" == "${NODE_ETCD_VERSION#v}-"* ]] ||
    die "kubeadm $kv wants etcd $etcd_tag; NODE_ETCD_VERSION is $NODE_ETCD_VERSION"
[[ "$(image_of coredns)" == *":$NODE_COREDNS_VERSION" ]] ||
    die "kubeadm $kv wants $(image_of coredns); NODE_COREDNS_VERSION is $NODE_COREDNS_VERSION"
[[ "$(image_of pause)" == *":$pause_version" ]] ||
    die "kubeadm $kv wants $(image_of pause); the kubernetes tree's pause is $pause_version"

# ---- Debian filesystems ----
rootfs() { # name packages -> $cache_root/<name>-<suite>-<hash>.tar, a minimal Debian with them
    local tar
    tar="$cache_root/$1-$NODE_DEBIAN_SUITE-$(echo "$NODE_DEBIAN_MIRROR $2" | hash_of).tar"
    if [[ ! -s "$tar" ]]; then
        make_rootfs "$tar" "$2"
    fi
    printf '%s\n' "$tar"
}
make_rootfs() { # tarball packages
    local tar="$1"
    local dir="$tar.d"
    "${sudo[@]}" rm -rf "$dir"
    log "debootstrap $NODE_DEBIAN_SUITE: $2"
    "${sudo[@]}" debootstrap --variant=minbase --include="$2" "$NODE_DEBIAN_SUITE" "$dir" \
        "$NODE_DEBIAN_MIRROR" >"$tar.log" 2>&1 ||
        die "debootstrap failed; see $tar.log"
    "${sudo[@]}" rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    "${sudo[@]}" tar -C "$dir" -cf "$tar.tmp" .
    "${sudo[@]}" rm -rf "$dir"
    mv "$tar.tmp" "$tar"
}
rootfs_node="$(rootfs node "systemd,systemd-sysv,dbus,containerd,runc,containernetworking-plugins,iptables,nftables,iproute2,ethtool,conntrack,kmod,mount,util-linux,procps,ca-certificates,socat,libseccomp2,bash")"
# kube-proxy programs the kernel with the iptables and nft commands, so its image needs them.
rootfs_slim="$(rootfs slim "iptables,nftables,conntrack,ca-certificates")"

# ---- component images ----
work="$(mktemp -d)"
container=""
cleanup() {
    [[ -n "$container" ]] && docker rm -f "$container" >/dev/null 2>&1
    "${sudo[@]}" rm -rf "$work"
}
trap cleanup EXIT

# The smallest base a static binary needs: a passwd file and /tmp.
scratch="$work/scratch.tar"
mkdir -p "$work/scratch/etc" "$work/scratch/tmp"
printf 'root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534::/:/sbin/nologin\n' >"$work/scratch/etc/passwd"
tar -C "$work/scratch" -cf "$scratch" .

component() { # name-in-kubeadm's-list base-tarball binary
    local ref path="/usr/local/bin/$3"
    ref="$(image_of "$1")"
    import_image "$ref" "$2" "$bin/$3" "$path" \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENTRYPOINT [\"$path\"]"
    refs+=("$ref")
}
log "component images"
refs=()
component kube-apiserver "$scratch" kube-apiserver
component kube-controller-manager "$scratch" kube-controller-manager
component kube-scheduler "$scratch" kube-scheduler
component kube-proxy "$rootfs_slim" kube-proxy
component etcd "$scratch" etcd
component coredns "$scratch" coredns
component pause "$scratch" pause

# ---- the node filesystem ----
log "node filesystem"
node="$work/node"
mkdir -p "$node"
"${sudo[@]}" tar -C "$node" -xf "$rootfs_node"
"${sudo[@]}" cp -a "$here/files/." "$node/"
"${sudo[@]}" install -m 755 "$bin/kubelet" "$bin/kubeadm" "$bin/kubectl" "$node/usr/bin/"
"${sudo[@]}" install -m 755 "$bin/crictl" "$node/usr/local/bin/"
printf '%s\n' "$kv" | "${sudo[@]}" tee "$node/kind/version" >/dev/null
"${sudo[@]}" mkdir -p "$node/etc/kubernetes/manifests" "$node/var/lib/kubelet"
# Only what a node runs: containerd and the kubelet (after kubeadm writes its config). The
# rest of a machine's start-up (gettys, udev, timers) has no place in a container.
"${sudo[@]}" find "$node/etc/systemd/system" -name '*.wants' -type d -exec rm -rf {} +
"${sudo[@]}" rm -f "$node"/lib/systemd/system/multi-user.target.wants/* \
    "$node"/lib/systemd/system/sockets.target.wants/*udev* \
    "$node"/lib/systemd/system/sysinit.target.wants/systemd-udev* \
    "$node"/lib/systemd/system/local-fs.target.wants/*
"${sudo[@]}" systemctl --root="$node" enable containerd.service kubelet.service >/dev/null 2>&1
"${sudo[@]}" systemctl --root="$node" mask systemd-binfmt.service getty.target \
    systemd-udevd.service systemd-modules-load.service >/dev/null 2>&1
echo "ReadKMsg=no" | "${sudo[@]}" tee -a "$node/etc/systemd/journald.conf" >/dev/null
"${sudo[@]}" rm -f "$node/etc/machine-id" "$node/var/lib/dbus/machine-id"
"${sudo[@]}" touch "$node/etc/machine-id"
"${sudo[@]}" tar -C "$node" -cf - . | docker import - "agw-kind-node-base:$stamp" >/dev/null

# ---- preload the component images into the node's containerd ----
log "preloading ${#refs[@]} images into the node's containerd"
container="$(docker run -d --privileged --entrypoint /bin/sleep "agw-kind-node-base:$stamp" infinity)"
docker exec "$container" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
for _ in $(seq 30); do
    docker exec "$container" ctr version >/dev/null 2>&1 && break
    sleep 1
done
for ref in "${refs[@]}"; do
    docker save "$ref" | docker exec -i "$container" ctr --namespace=k8s.io images import \
        --all-platforms --no-unpack --digests - >/dev/null
done
docker exec "$container" ctr --namespace=k8s.io images list -q | grep -v -e '^sha256:' -e '@sha256:' | sort >"$bin/preloaded-$stamp.txt"
docker exec "$container" pkill containerd
sleep 2
docker commit \
    --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
    --change 'CMD []' \
    --change 'ENV container=docker' \
    "$container" "$image" >/dev/null
docker rm -f "$container" >/dev/null
container=""
docker rmi "agw-kind-node-base:$stamp" "${refs[@]}" >/dev/null
log "built $image; preloaded: $(tr '\n' ' ' <"$bin/preloaded-$stamp.txt")"
result
