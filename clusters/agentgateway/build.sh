#!/usr/bin/env bash
# Build the agentgateway proxy binary (Rust) from an upstream source tree, once per version.
#
#   AGW_AGENTGATEWAY_SRC=/path/to/agentgateway clusters/agentgateway/build.sh
#
# The user's tree is never modified: it is copied to an overlay in the cache dir, the
# substitutions listed in SUBSTITUTIONS.md are applied to the copy, and cargo builds there.
# Each known upstream version (AGW_SOURCE_BUILDS in versions.env) has its own substitution set
# and builds into its own cache directory <cache>/agentgateway/<name>.
# stdout: only the path of the binary (last line). Progress goes to stderr; the full cargo output
# goes to <cache>/logs/cargo-build.log.
#
# Environment:
#   AGW_AGENTGATEWAY_SRC  (required) agentgateway source tree (git checkout or extracted archive)
#   AGW_SUBSTITUTIONS     substitution set to use (substitutions/<name>.env + patches/<name>/);
#                         default: the tree's entry in AGW_SOURCE_BUILDS, else the pinned release's
#   AGW_CACHE_DIR         cache root (default: $HOME/.cache/agw-conformance)
#   AGW_RUST_TOOLCHAIN    rustup toolchain (default from versions.env: nightly, which is 1.97)
#   AGW_GCR_GIT_DIR       git dir holding googleapis/google-cloud-rust (a clone with AGW_GCR_REV;
#                         required by substitution sets that set AGW_GCR_REV, such as v1.4.1's)
#   AGW_CARGO_JOBS        cargo -j (default from versions.env: 2)
#   AGW_PREPARE_ONLY=1    prepare the overlay (copy, patches, Cargo.lock) and stop before cargo build
#
# The whole script is one { ... } block so bash parses it completely before running it: editing
# this file while a (long) build runs cannot corrupt the running build.
{
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"

log() { printf 'agw-build: %s\n' "$*" >&2; }
die() {
	printf 'agw-build: error: %s\n' "$*" >&2
	exit 1
}

for arg in "$@"; do
	case "$arg" in
	-h | --help)
		sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument '$arg' (usage: AGW_AGENTGATEWAY_SRC=<tree> build.sh)" ;;
	esac
done

# shellcheck source-path=SCRIPTDIR source=versions.env
. "$HERE/versions.env"

# --- Inputs --------------------------------------------------------------------------------------
SRC="${AGW_AGENTGATEWAY_SRC:-}"
[[ -n "$SRC" ]] || die "AGW_AGENTGATEWAY_SRC is not set; point it at an agentgateway source tree (pinned: $AGW_UPSTREAM_TAG)"
[[ -d "$SRC" ]] || die "AGW_AGENTGATEWAY_SRC=$SRC is not a directory"
SRC="$(cd "$SRC" && pwd)"
for f in Cargo.toml Cargo.lock crates/agentgateway-app/Cargo.toml crates/agentgateway/src/http/apikey.rs; do
	[[ -f "$SRC/$f" ]] || die "AGW_AGENTGATEWAY_SRC=$SRC is not an agentgateway source tree (missing $f)"
done

TOOLCHAIN="${AGW_RUST_TOOLCHAIN:-$AGW_RUST_TOOLCHAIN_DEFAULT}"
GCR_GIT_DIR="${AGW_GCR_GIT_DIR:-}"
JOBS="${AGW_CARGO_JOBS:-$AGW_CARGO_JOBS_DEFAULT}"
for tool in tar patch sha256sum git rustup; do
	command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found in PATH"
done

# --- Version of the tree and its cache directory ---------------------------------------------
# shellcheck source-path=SCRIPTDIR source=tree.sh
. "$HERE/tree.sh"

# --- Substitution set ----------------------------------------------------------------------------
SUBST_NAME="${AGW_SUBSTITUTIONS:-}"
if [[ -z "$SUBST_NAME" ]]; then
	if [[ -f "$HERE/substitutions/$SRC_VERSION.env" ]]; then
		SUBST_NAME="$SRC_VERSION"
	else
		SUBST_NAME="$AGW_UPSTREAM_TAG"
		log "warning: tree $SRC_VERSION (commit $SRC_COMMIT) is not in AGW_SOURCE_BUILDS; trying the $SUBST_NAME substitutions, whose patches may not apply (AGW_SUBSTITUTIONS=<name> picks another set)"
	fi
fi
SUBST_ENV="$HERE/substitutions/$SUBST_NAME.env"
[[ -f "$SUBST_ENV" ]] || die "no substitution set $SUBST_ENV"
AGW_GCR_REV="" AGW_GCR_CRATE_DIRS="" AGW_GCR_CRATE_VERSIONS="" AGW_OVERLAY_CARGO_LOCK_SHA256=""
# shellcheck source=substitutions/v1.4.1.env
. "$SUBST_ENV"
TREE_PATCHES="$HERE/patches/$SUBST_NAME"

OVERLAY="$CACHE/src"
VENDOR_GCR="$CACHE/vendor/google-cloud-rust"
TARGET_DIR="$CACHE/target"
BIN="$CACHE/bin/$AGW_CARGO_BIN"
STAMP="$CACHE/bin/$AGW_CARGO_BIN.inputs"
LOG="$CACHE/logs/cargo-build.log"
mkdir -p "$CACHE/bin" "$CACHE/logs" "$CACHE/vendor"

# --- Toolchain -----------------------------------------------------------------------------------
rustc_vv="$(RUSTUP_AUTO_INSTALL=0 rustup run "$TOOLCHAIN" rustc -vV 2>/dev/null)" ||
	die "rust toolchain '$TOOLCHAIN' is not installed (rustup run $TOOLCHAIN rustc failed)"
rustc_release="$(sed -n 's/^release: //p' <<<"$rustc_vv")"
[[ "$rustc_release" == "$AGW_RUST_RELEASE_PREFIX"* ]] ||
	die "toolchain '$TOOLCHAIN' is rustc $rustc_release, expected $AGW_RUST_RELEASE_PREFIX* (the tree pins channel 1.97)"

# Patches for a substituted crate, in order: patches/crates/<crate>-<version>.patch, then the
# version's own addition when AGW_PATCHED_CRATES names one (4th field: crate=version=sha=extra,
# patches/crates/<extra>.patch).
crate_patches() { # name version extra
	printf '%s\n' "$HERE/patches/crates/$1-$2.patch"
	[[ -z "$3" ]] || printf '%s\n' "$HERE/patches/crates/$3.patch"
}
patches_sha() { # name version extra
	local p
	for p in $(crate_patches "$1" "$2" "$3"); do
		sha256sum "$p" | cut -d' ' -f1
	done | paste -sd' ' -
}

# --- Fingerprint of everything that goes into the overlay ----------------------------------------
tree_sha="$(cd "$SRC" && {
	find . \( -path ./target -o -path ./.git \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	find . \( -path ./target -o -path ./.git \) -prune -o -type l -printf '%p -> %l\n' | LC_ALL=C sort
} | sha256sum | cut -d' ' -f1)"
inputs_sha="$({
	echo "tree $tree_sha"
	echo "version $SRC_VERSION $SRC_COMMIT"
	echo "toolchain $TOOLCHAIN"
	echo "$rustc_vv"
	cat "$HERE/build.sh" "$HERE/versions.env" "$SUBST_ENV"
	for p in "$TREE_PATCHES"/*.patch; do
		[[ -e "$p" ]] && cat "$p"
	done
	for spec in $AGW_PATCHED_CRATES; do
		IFS='=' read -r name ver _ extra <<<"$spec"
		for p in $(crate_patches "$name" "$ver" "$extra"); do
			cat "$p" 2>/dev/null || true
		done
	done
} | sha256sum | cut -d' ' -f1)"

cache_hit() {
	[[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$inputs_sha" ]]
}

# One build per cache dir at a time.
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi

if cache_hit; then
	log "cached agentgateway $SRC_VERSION ($version_how); substitutions: $HERE/SUBSTITUTIONS.md"
	echo "$BIN"
	exit 0
fi

# --- Announce ------------------------------------------------------------------------------------
start_ts="$(date +%s)"
log "building agentgateway $SRC_VERSION (commit $SRC_COMMIT; $version_how)"
log "substitution set: $SUBST_NAME ($SUBST_ENV, patches/$SUBST_NAME/)"
log "source:    $SRC"
log "cache dir: $CACHE"
log "toolchain: $TOOLCHAIN (rustc $rustc_release)"
log "substitutions and build-setting differences (details: $HERE/SUBSTITUTIONS.md):"
awk -v want="<!-- summary:start $SUBST_NAME -->" '$0 == want {on=1; next} /<!-- summary:end/{on=0} on && NF' "$HERE/SUBSTITUTIONS.md" |
	sed 's/^/agw-build:   /' >&2

export RUSTUP_TOOLCHAIN="$TOOLCHAIN"
export RUSTUP_AUTO_INSTALL=0
export CARGO_TARGET_DIR="$TARGET_DIR"
host_triple="$(sed -n 's/^host: //p' <<<"$rustc_vv")"

# --- Overlay: copy of the tree -------------------------------------------------------------------
log "copying source tree to overlay $OVERLAY"
rm -rf "$OVERLAY.new"
mkdir -p "$OVERLAY.new"
(cd "$SRC" && tar --exclude=./target --exclude=./.git -cf - .) | tar -C "$OVERLAY.new" -xf -

# --- Overlay: google-cloud-rust files at the pinned commit ---------------------------------------
gcr_stamp="$VENDOR_GCR/.agw-rev"
if [[ -n "$AGW_GCR_REV" ]] && [[ ! -f "$gcr_stamp" || "$(cat "$gcr_stamp")" != "$AGW_GCR_REV" ]]; then
	[[ -n "$GCR_GIT_DIR" && -d "$GCR_GIT_DIR" ]] ||
		die "set AGW_GCR_GIT_DIR to a git clone of googleapis/google-cloud-rust that contains commit $AGW_GCR_REV (upstream pins google-cloud-auth to that commit; cargo cannot fetch git dependencies here)"
	git -C "$GCR_GIT_DIR" cat-file -e "$AGW_GCR_REV^{commit}" 2>/dev/null ||
		die "commit $AGW_GCR_REV not found in $GCR_GIT_DIR"
	log "extracting google-cloud-rust@${AGW_GCR_REV:0:12} ($AGW_GCR_CRATE_DIRS + workspace manifests) from $GCR_GIT_DIR"
	rm -rf "$VENDOR_GCR"
	mkdir -p "$VENDOR_GCR"
	gcr_list="$CACHE/vendor/google-cloud-rust.files"
	{
		# shellcheck disable=SC2086 # AGW_GCR_CRATE_DIRS is a space separated list
		git -C "$GCR_GIT_DIR" ls-tree -r --name-only "$AGW_GCR_REV" -- $AGW_GCR_CRATE_DIRS
		git -C "$GCR_GIT_DIR" ls-tree -r --name-only "$AGW_GCR_REV" | grep -E '(^|/)Cargo\.toml$'
	} | LC_ALL=C sort -u >"$gcr_list"
	# The local copy may lack blobs of unrelated huge generated files; only the listed paths
	# are read, one blob at a time.
	while IFS= read -r path; do
		mkdir -p "$VENDOR_GCR/$(dirname "$path")"
		git -C "$GCR_GIT_DIR" cat-file blob "$AGW_GCR_REV:$path" >"$VENDOR_GCR/$path" ||
			die "cannot read $path at $AGW_GCR_REV from $GCR_GIT_DIR"
	done <"$gcr_list"
	echo "$AGW_GCR_REV" >"$gcr_stamp"
fi
for kv in $AGW_GCR_CRATE_VERSIONS; do
	name="${kv%%=*}"
	found=""
	for d in $AGW_GCR_CRATE_DIRS; do
		if grep -q "^name *= *\"$name\"" "$VENDOR_GCR/$d/Cargo.toml" 2>/dev/null; then
			found="$d"
		fi
	done
	[[ -n "$found" ]] || die "crate $name not found in $VENDOR_GCR ($AGW_GCR_CRATE_DIRS)"
done

# --- Overlay: crates.io releases + patch, replacing forks (../vendor/<crate>) ---------------------
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
fetch_needed=""
for spec in $AGW_PATCHED_CRATES; do
	IFS='=' read -r name ver sha extra <<<"$spec"
	for cpatch in $(crate_patches "$name" "$ver" "$extra"); do
		[[ -f "$cpatch" ]] || die "missing $cpatch"
	done
	want_stamp="$ver $sha $(patches_sha "$name" "$ver" "$extra")"
	if [[ ! -f "$CACHE/vendor/$name/.agw-stamp" || "$(cat "$CACHE/vendor/$name/.agw-stamp")" != "$want_stamp" ]]; then
		fetch_needed="$fetch_needed $spec"
	fi
done
if [[ -n "$fetch_needed" ]]; then
	# Let cargo download the .crate files (ordinary registry client), via a throwaway manifest.
	fetch_dir="$CACHE/vendor/.fetch"
	rm -rf "$fetch_dir"
	mkdir -p "$fetch_dir/src"
	: >"$fetch_dir/src/lib.rs"
	{
		printf '[package]\nname = "agw-crate-fetch"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[dependencies]\n'
		for spec in $fetch_needed; do
			IFS='=' read -r name ver sha extra <<<"$spec"
			printf '%s = { version = "=%s", default-features = false }\n' "$name" "$ver"
		done
	} >"$fetch_dir/Cargo.toml"
	log "downloading crates.io sources for:$(for s in $fetch_needed; do printf ' %s' "$(cut -d= -f1,2 <<<"$s")"; done)"
	(cd "$fetch_dir" && cargo fetch --target "$host_triple" 2>>"$LOG") ||
		die "cargo fetch of$fetch_needed failed (see $LOG)"
	for spec in $fetch_needed; do
		IFS='=' read -r name ver sha extra <<<"$spec"
		crate_file=""
		for f in "$cargo_home"/registry/cache/*/"$name-$ver.crate"; do
			if [[ -f "$f" && "$(sha256sum "$f" | cut -d' ' -f1)" == "$sha" ]]; then
				crate_file="$f"
			fi
		done
		[[ -n "$crate_file" ]] || die "no $name-$ver.crate with sha256 $sha under $cargo_home/registry/cache"
		rm -rf "$CACHE/vendor/$name" "$CACHE/vendor/.x"
		mkdir -p "$CACHE/vendor/.x"
		tar -xzf "$crate_file" -C "$CACHE/vendor/.x"
		mv "$CACHE/vendor/.x/$name-$ver" "$CACHE/vendor/$name"
		rmdir "$CACHE/vendor/.x"
		for cpatch in $(crate_patches "$name" "$ver" "$extra"); do
			log "applying crates/$(basename "$cpatch") to crates.io $name $ver"
			patch -p1 --quiet --forward --no-backup-if-mismatch -d "$CACHE/vendor/$name" <"$cpatch" >&2 ||
				die "patch $cpatch does not apply to $name $ver"
		done
		echo "$ver $sha $(patches_sha "$name" "$ver" "$extra")" >"$CACHE/vendor/$name/.agw-stamp"
	done
	rm -rf "$fetch_dir"
fi

# --- Overlay: patches ----------------------------------------------------------------------------
for p in "$TREE_PATCHES"/*.patch; do
	[[ -e "$p" ]] || continue
	log "applying $SUBST_NAME/$(basename "$p")"
	patch -p1 --quiet --forward --no-backup-if-mismatch -d "$OVERLAY.new" <"$p" >&2 ||
		die "patch $SUBST_NAME/$(basename "$p") does not apply to $SRC"
done

rm -rf "$OVERLAY"
mv "$OVERLAY.new" "$OVERLAY"

# --- Overlay: Cargo.lock for the substituted crates ----------------------------------------------
# Versions of crate $1 in the overlay Cargo.lock, as "version source" lines.
locked() {
	awk -v want="$1" '
		/^\[\[package\]\]/ { if (n == want) print v, (s == "" ? "path" : s); n = v = s = "" }
		/^name = /    { n = $3; gsub(/"/, "", n) }
		/^version = / { v = $3; gsub(/"/, "", v) }
		/^source = /  { s = $3; gsub(/"/, "", s) }
		END { if (n == want) print v, (s == "" ? "path" : s) }
	' "$OVERLAY/Cargo.lock"
}

{
	echo "=== $(date -u +%FT%TZ) lock adjustment in $OVERLAY"
} >>"$LOG"
log "adjusting Cargo.lock for the substituted crates (all other entries stay as upstream locked them)"
(cd "$OVERLAY" && cargo metadata --format-version 1 >/dev/null 2>>"$LOG") ||
	die "cargo could not resolve the overlay workspace (see $LOG)"
for kv in $AGW_CRATESIO_SUBSTITUTES; do
	name="${kv%%=*}"
	want="${kv#*=}"
	# semver-compatible series of the pin: "1" for 1.2.1, "0.41" for 0.41.1
	series="$(awk -F. '{ print ($1 == "0" ? $1 "." $2 : $1) }' <<<"$want")"
	have="$(locked "$name" | awk -v s="$series" '$2 ~ /^registry\+/ && index($1, s ".") == 1 { print $1 }' | head -n1)"
	[[ -n "$have" ]] || die "crate $name $series.x is not in the overlay Cargo.lock"
	if [[ "$have" != "$want" ]]; then
		log "  cargo update -p $name@$have --precise $want"
		(cd "$OVERLAY" && cargo update -p "$name@$have" --precise "$want" 2>>"$LOG") ||
			die "cargo update -p $name@$have --precise $want failed (see $LOG)"
	fi
done
# Verify: no git sources left, every substitute at its pinned version from crates.io.
if grep -q '^source = "git+' "$OVERLAY/Cargo.lock"; then
	die "overlay Cargo.lock still has git sources: $(grep '^source = "git+' "$OVERLAY/Cargo.lock" | sort -u | tr '\n' ' ')"
fi
for kv in $AGW_CRATESIO_SUBSTITUTES; do
	name="${kv%%=*}"
	want="${kv#*=}"
	locked "$name" | grep -q "^$want registry+" || die "overlay Cargo.lock does not have $name $want from crates.io"
done
for kv in $AGW_GCR_CRATE_VERSIONS; do
	name="${kv%%=*}"
	want="${kv#*=}"
	locked "$name" | grep -qx "$want path" || die "overlay Cargo.lock does not have $name $want from the vendored google-cloud-rust"
done
for spec in $AGW_PATCHED_CRATES; do
	IFS='=' read -r name want _ <<<"$spec"
	locked "$name" | grep -qx "$want path" || die "overlay Cargo.lock does not have $name $want from ../vendor/$name"
done
lock_sha="$(sha256sum "$OVERLAY/Cargo.lock" | cut -d' ' -f1)"
if [[ -n "$AGW_OVERLAY_CARGO_LOCK_SHA256" && "$lock_sha" != "$AGW_OVERLAY_CARGO_LOCK_SHA256" ]]; then
	log "warning: overlay Cargo.lock sha256 $lock_sha differs from $SUBST_ENV ($AGW_OVERLAY_CARGO_LOCK_SHA256)"
fi
diff -u "$SRC/Cargo.lock" "$OVERLAY/Cargo.lock" >"$CACHE/logs/Cargo.lock.diff" || true
log "overlay Cargo.lock sha256 $lock_sha (diff vs upstream: $CACHE/logs/Cargo.lock.diff)"

if [[ "${AGW_PREPARE_ONLY:-}" == "1" ]]; then
	log "AGW_PREPARE_ONLY=1: overlay prepared in $OVERLAY; not building"
	exit 0
fi

# --- Build ---------------------------------------------------------------------------------------
export CARGO_PROFILE_RELEASE_LTO="$AGW_CARGO_PROFILE_RELEASE_LTO"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="$AGW_CARGO_PROFILE_RELEASE_CODEGEN_UNITS"
# Read by crates/core/build.rs (tools/report_build_info.sh) for `agentgateway --version`.
export VERSION="$SRC_VERSION"
export GIT_REVISION="$SRC_COMMIT"

cargo_cmd=(cargo build --release --locked -j "$JOBS" -p "$AGW_CARGO_PACKAGE" --bin "$AGW_CARGO_BIN")
{
	echo "=== $(date -u +%FT%TZ) ${cargo_cmd[*]}"
	echo "=== RUSTUP_TOOLCHAIN=$RUSTUP_TOOLCHAIN CARGO_TARGET_DIR=$CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_LTO=$CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$CARGO_PROFILE_RELEASE_CODEGEN_UNITS VERSION=$VERSION GIT_REVISION=$GIT_REVISION"
} >>"$LOG"
log "running: ${cargo_cmd[*]} (in $OVERLAY; log: $LOG)"
log "a cold build takes about 30 min on 2 cores (28 min 45 s measured); a rebuild after a source change a few minutes"

log_start_line=$(($(wc -l <"$LOG") + 1))
# Progress line every minute. Its `sleep` is killed with it, so nothing keeps the caller's
# stdout/stderr pipes open after this script exits.
heartbeat() {
	local sleep_pid="" n last
	trap 'kill "$sleep_pid" 2>/dev/null; exit 0' TERM
	while true; do
		sleep 60 &
		sleep_pid=$!
		wait "$sleep_pid" || true
		n="$(tail -n "+$log_start_line" "$LOG" | grep -c '^ *Compiling ' || true)"
		last="$(tail -n "+$log_start_line" "$LOG" | grep '^ *Compiling ' | tail -n1 | sed 's/^ *Compiling //' || true)"
		log "  $(($(date +%s) - start_ts))s elapsed; $n crates compiled so far; latest: ${last:-none}"
	done
}
heartbeat >/dev/null &
hb_pid=$!
trap 'kill "$hb_pid" 2>/dev/null || true' EXIT

build_rc=0
(cd "$OVERLAY" && "${cargo_cmd[@]}") >>"$LOG" 2>&1 || build_rc=$?
kill "$hb_pid" 2>/dev/null || true
trap - EXIT
if [[ "$build_rc" -ne 0 ]]; then
	tail -n 40 "$LOG" | sed 's/^/agw-build: | /' >&2
	die "cargo build failed (exit $build_rc); full log: $LOG"
fi

built="$TARGET_DIR/release/$AGW_CARGO_BIN"
[[ -x "$built" ]] || die "cargo succeeded but $built is missing"
cp "$built" "$BIN.tmp.$$"
mv -f "$BIN.tmp.$$" "$BIN"
echo "$inputs_sha" >"$STAMP"
elapsed=$(($(date +%s) - start_ts))
{
	echo "version=$SRC_VERSION"
	echo "commit=$SRC_COMMIT"
	echo "substitutions=$SUBST_NAME"
	echo "toolchain=$TOOLCHAIN rustc $rustc_release"
	echo "built_at=$(date -u +%FT%TZ)"
	echo "build_seconds=$elapsed"
	echo "overlay_cargo_lock_sha256=$lock_sha"
} >"$BIN.build-info"
log "built in ${elapsed}s: $("$BIN" -V 2>/dev/null || echo '?')"
log "substitutions: $HERE/SUBSTITUTIONS.md"
echo "$BIN"
exit 0
}
