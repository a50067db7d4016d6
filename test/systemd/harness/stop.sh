#!/bin/bash
# stop.sh - shut down a box started by boot.sh and remove its cgroup.
#
#   stop.sh STATE
#
# 1. ask systemd to exit ("systemctl exit": stops all units, then PID 1 exits,
#    which ends the PID namespace);
# 2. if that takes too long, SIGKILL the namespace's PID 1 (the kernel then
#    kills everything in the namespace), then unshare itself;
# 3. wait for the box's cgroup to empty and remove it, deepest first.
# Signals only the PIDs recorded in STATE after checking they are still ours.
# Exits 0 when nothing is left, 1 otherwise. Safe to run twice.
set -uo pipefail

STATE=${1:?usage: stop.sh STATE}
upid=$(cat "$STATE/unshare.pid" 2>/dev/null || true)
cg=$(cat "$STATE/cgroup" 2>/dev/null || true)

# Running (not gone, not a zombie waiting to be reaped by the Node helper)?
running() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st%% *}" != Z ]
}
# Is $upid still the unshare of this STATE (and not a recycled PID)?
ours() { running "$upid" && tr '\0' ' ' < "/proc/$upid/cmdline" | grep -qF -- " $STATE "; }
# wait_gone SECONDS: until unshare has exited
wait_gone() {
    local n=$(( $1 * 20 ))
    while [ "$n" -gt 0 ] && running "$upid"; do sleep 0.05; n=$((n - 1)); done
    ! running "$upid"
}

if [ -n "$upid" ] && ours; then
    nspid=$(awk '{print $1}' "/proc/$upid/task/$upid/children" 2>/dev/null || true)
    exit_out="(not asked)"
    if [ -n "$nspid" ] && running "$nspid"; then
        exit_out=$(timeout 5 nsenter --target "$nspid" --mount --pid -- \
            /usr/bin/env SYSTEMD_IGNORE_CHROOT=1 systemctl --no-block exit 2>&1; echo "rc=$?")
    fi
    if ! wait_gone 10; then
        echo "stop.sh: systemd did not exit in 10 s (systemctl exit: ${exit_out//$'\n'/ }), killing the namespace" >&2
        [ -n "$nspid" ] && kill -KILL "$nspid" 2>/dev/null
        wait_gone 5 || kill -KILL "$upid" 2>/dev/null
        wait_gone 5
    fi
fi

rc=0
if [ -n "$cg" ] && [ -d "$cg" ]; then
    # Processes of a dying namespace leave their cgroups asynchronously.
    for _ in $(seq 100); do
        grep -q '^populated 0' "$cg/cgroup.events" 2>/dev/null && break
        sleep 0.05
    done
    if ! grep -q '^populated 0' "$cg/cgroup.events" 2>/dev/null && [ -e "$cg/cgroup.kill" ]; then
        echo "stop.sh: processes left in $cg, killing them" >&2
        echo 1 > "$cg/cgroup.kill" 2>/dev/null
    fi
    for _ in $(seq 100); do
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
        [ -d "$cg" ] || break
        sleep 0.05
    done
    [ ! -d "$cg" ] || { echo "stop.sh: could not remove $cg" >&2; rc=1; }
fi
if [ -n "$upid" ] && ours; then echo "stop.sh: unshare $upid still running" >&2; rc=1; fi
rm -f "$STATE/cgroup" "$STATE/unshare.pid"
exit "$rc"
