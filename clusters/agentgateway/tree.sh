# shellcheck shell=bash
# The version of an agentgateway source tree and the cache directory it builds into: one rule
# for the proxy build (build.sh here) and the controller build (../agentgateway-controller).
# Sourced after versions.env; needs SRC (absolute), REPO_ROOT and a `die` function. Sets
# CACHE_ROOT, SRC_COMMIT, SRC_VERSION, version_how and CACHE.

CACHE_ROOT="${AGW_CACHE_DIR:-$HOME/.cache/agw-conformance}"
mkdir -p "$CACHE_ROOT"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd)"
case "$CACHE_ROOT/" in
"$REPO_ROOT"/*) die "AGW_CACHE_DIR=$CACHE_ROOT is inside the repository $REPO_ROOT; use a directory outside it" ;;
esac

# A git checkout names itself; an extracted archive is recognised by its Cargo files when they
# are the pinned tag's, and otherwise named by their content.
cargo_sha="$(cat "$SRC/Cargo.toml" "$SRC/Cargo.lock" | sha256sum | cut -d' ' -f1)"
git_top="$(git -C "$SRC" rev-parse --show-toplevel 2>/dev/null || true)"
if [[ -n "$git_top" && "$(cd "$git_top" && pwd)" == "$SRC" ]]; then
	SRC_COMMIT="$(git -C "$SRC" rev-parse HEAD)"
	SRC_VERSION="$(git -C "$SRC" describe --tags --always --dirty)"
	version_how="git describe"
elif [[ "$cargo_sha" == "$AGW_UPSTREAM_CARGO_SHA256" ]]; then
	SRC_COMMIT="$AGW_UPSTREAM_COMMIT"
	SRC_VERSION="$AGW_UPSTREAM_TAG"
	version_how="Cargo.toml+Cargo.lock match the pinned $AGW_UPSTREAM_TAG"
else
	SRC_COMMIT="unknown"
	SRC_VERSION="src-${cargo_sha:0:12}"
	version_how="content hash of Cargo.toml+Cargo.lock"
fi
SRC_VERSION="${SRC_VERSION//\//_}"
CACHE="$CACHE_ROOT/agentgateway/$SRC_VERSION"
export CACHE_ROOT SRC_COMMIT SRC_VERSION version_how CACHE REPO_ROOT
