# shellcheck shell=bash
# The version of an agentgateway source tree and the cache directory it builds into: one rule
# for the proxy build (build.sh here) and the controller build (../agentgateway-controller).
# Sourced after versions.env (AGW_SOURCE_BUILDS); needs SRC (absolute), REPO_ROOT and a `die` function. Sets
# CACHE_ROOT, SRC_COMMIT, SRC_VERSION, version_how and CACHE.

CACHE_ROOT="${AGW_CACHE_DIR:-$HOME/.cache/agw-conformance}"
mkdir -p "$CACHE_ROOT"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd)"
case "$CACHE_ROOT/" in
"$REPO_ROOT"/*) die "AGW_CACHE_DIR=$CACHE_ROOT is inside the repository $REPO_ROOT; use a directory outside it" ;;
esac

# A tree listed in AGW_SOURCE_BUILDS (by its commit, or by its Cargo files when it is an extracted
# archive) takes that entry's name. Any other git checkout names itself with `git describe`; any
# other archive is named by the content of its Cargo files.
cargo_sha="$(cat "$SRC/Cargo.toml" "$SRC/Cargo.lock" | sha256sum | cut -d' ' -f1)"
git_top="$(git -C "$SRC" rev-parse --show-toplevel 2>/dev/null || true)"
head_commit=""
if [[ -n "$git_top" && "$(cd "$git_top" && pwd)" == "$SRC" ]]; then
	head_commit="$(git -C "$SRC" rev-parse HEAD)"
fi
SRC_COMMIT=""
SRC_VERSION=""
for entry in $AGW_SOURCE_BUILDS; do
	IFS='=' read -r e_name e_commit e_cargo <<<"$entry"
	if [[ -n "$head_commit" && "$head_commit" == "$e_commit" ]]; then
		SRC_COMMIT="$e_commit" SRC_VERSION="$e_name" version_how="git commit ${e_commit:0:12} is the pinned $e_name"
	elif [[ -z "$head_commit" && "$cargo_sha" == "$e_cargo" ]]; then
		SRC_COMMIT="$e_commit" SRC_VERSION="$e_name" version_how="Cargo.toml+Cargo.lock match the pinned $e_name"
	fi
done
if [[ -z "$SRC_VERSION" && -n "$head_commit" ]]; then
	SRC_COMMIT="$head_commit"
	SRC_VERSION="$(git -C "$SRC" describe --tags --always --dirty)"
	version_how="git describe"
elif [[ -z "$SRC_VERSION" ]]; then
	SRC_COMMIT="unknown"
	SRC_VERSION="src-${cargo_sha:0:12}"
	version_how="content hash of Cargo.toml+Cargo.lock"
fi
SRC_VERSION="${SRC_VERSION//\//_}"
CACHE="$CACHE_ROOT/agentgateway/$SRC_VERSION"
export CACHE_ROOT SRC_COMMIT SRC_VERSION version_how CACHE REPO_ROOT
