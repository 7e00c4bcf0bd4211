#!/usr/bin/env bash
# A container engine of the project's own, for machines that have none running.
#
#   eval "$(clusters/kind/engine.sh start)"   # prints: export DOCKER_HOST=...
#   clusters/kind/engine.sh stop
#   clusters/kind/engine.sh status
#   clusters/kind/engine.sh runtime FILE        # only write the runtime wrapper (for tests)
#
# When an engine already answers (DOCKER_HOST, or the default socket, as on a laptop or a
# GitHub runner), `start` prints nothing and touches nothing: that engine is used. Otherwise
# it installs Debian's docker.io if dockerd is missing and starts a dockerd with its own data
# root, exec root, socket and pidfile under AGW_ENGINE_DIR (default
# ~/.cache/agw-conformance/engine; images, the kind node image among them, stay there
# between runs). `stop` stops only a dockerd this script started.
#
# Why a runtime wrapper: kind's nodes are privileged containers, and a privileged container
# asks runc for every capability. Where the machine's bounding set lacks one (seen:
# CAP_SYS_RESOURCE on some VMs), runc fails with "unable to apply caps: operation not
# permitted". The wrapper removes from runc's JSON (the bundle's config.json on create and
# run, the --process file on exec) every capability the bounding set does not hold, then
# execs runc. On a machine that holds them all it changes nothing.
set -euo pipefail

engine_dir="${AGW_ENGINE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agw-conformance/engine}"
# Unix socket paths are limited to 108 bytes: the run directory stays short.
run_dir="${AGW_ENGINE_RUN_DIR:-/tmp/agw-engine-$(id -u)}"
sock="$run_dir/docker.sock"
pidfile="$run_dir/dockerd.pid"

log() { printf 'engine.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

answers() { docker ${1:+-H "$1"} version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ours_running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

install_engine() {
    command -v dockerd >/dev/null && command -v jq >/dev/null && command -v docker >/dev/null && return
    log "installing Debian's docker.io and jq"
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        docker.io jq >/dev/null || die "apt-get install docker.io jq failed"
}

write_runtime() { # path of the wrapper to write
    local runc="${AGW_ENGINE_RUNC:-}"
    [[ -n "$runc" ]] || runc="$(command -v runc)" || die "runc is not installed (it comes with docker.io)"
    # The capabilities this machine can grant, by name, from the bounding set's bit mask.
    local bnd caps=() names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID
        SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK
        IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT
        SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL
        SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
        CHECKPOINT_RESTORE)
    bnd=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)))
    local i
    for i in "${!names[@]}"; do
        ((bnd >> i & 1)) && caps+=("\"CAP_${names[$i]}\"")
    done
    local allowed
    allowed="$(IFS=,; printf '[%s]' "${caps[*]}")"
    cat >"$1" <<EOF
#!/usr/bin/env bash
# Written by clusters/kind/engine.sh: keeps only capabilities this machine can grant.
set -euo pipefail
allowed='$allowed'
filter() { # a runc JSON file, rewritten in place
    local tmp="\$1.agw-tmp"
    jq --argjson ok "\$allowed" '
        def keep: if type == "array" then map(select(. as \$c | \$ok | index(\$c))) else . end;
        if .process then .process.capabilities |= (if . then map_values(keep) else . end)
        else .capabilities |= (if . then map_values(keep) else . end) end' "\$1" >"\$tmp"
    mv "\$tmp" "\$1"
}
args=("\$@")
for ((i = 0; i < \${#args[@]}; i++)); do
    case "\${args[\$i]}" in
        create | run) bundle=. ;;
        --bundle | -b) bundle="\${args[\$((i + 1))]}" ;;
        --bundle=*) bundle="\${args[\$i]#--bundle=}" ;;
        --process | -p) filter "\${args[\$((i + 1))]}" ;;
        --process=*) filter "\${args[\$i]#--process=}" ;;
    esac
done
if [[ -n "\${bundle:-}" && -f "\$bundle/config.json" ]]; then filter "\$bundle/config.json"; fi
exec $runc "\$@"
EOF
    chmod 755 "$1"
}

start() {
    if [[ -n "${DOCKER_HOST:-}" ]] && answers; then
        log "using the engine at DOCKER_HOST=$DOCKER_HOST"
        return
    fi
    if [[ -z "${DOCKER_HOST:-}" ]] && answers; then
        log "using the running engine at the default socket"
        return
    fi
    mkdir -p "$engine_dir/data" "$run_dir/exec"
    if ours_running && answers "unix://$sock"; then
        log "reusing the dockerd started earlier (pid $(cat "$pidfile"))"
        printf 'export DOCKER_HOST=unix://%s\n' "$sock"
        return
    fi
    install_engine
    write_runtime "$engine_dir/runc-wrapper"
    cat >"$engine_dir/daemon.json" <<EOF
{
  "runtimes": {"agw-runc": {"path": "$engine_dir/runc-wrapper"}},
  "default-runtime": "agw-runc"
}
EOF
    log "starting dockerd (data root $engine_dir/data, socket $sock)"
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    # setsid: the daemon outlives this script; stop() ends it.
    "${sudo[@]}" setsid dockerd --config-file "$engine_dir/daemon.json" \
        --data-root "$engine_dir/data" --exec-root "$run_dir/exec" \
        -H "unix://$sock" --pidfile "$pidfile" \
        >"$engine_dir/dockerd.log" 2>&1 </dev/null &
    local _
    for _ in $(seq 60); do
        answers "unix://$sock" && break
        sleep 1
    done
    answers "unix://$sock" || die "dockerd did not answer within 60 s; see $engine_dir/dockerd.log"
    printf 'export DOCKER_HOST=unix://%s\n' "$sock"
}

stop() {
    if ! ours_running; then
        log "no dockerd of ours is running"
        return
    fi
    local pid _
    pid="$(cat "$pidfile")"
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 1
    done
    die "dockerd (pid $pid) did not stop within 60 s"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    runtime) write_runtime "${2:?usage: engine.sh runtime FILE}" ;;
    status) if ours_running; then echo "running: unix://$sock"; else echo "not running"; fi ;;
    *) die "usage: engine.sh start|stop|status|runtime FILE" ;;
esac
