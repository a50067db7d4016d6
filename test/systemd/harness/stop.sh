#!/bin/bash
# stop.sh - shut down a box started by boot.sh and remove its cgroup.
#
#   stop.sh STATE
#
# 1. ask systemd to exit ("systemctl exit"). The manager stops what exit.target
#    conflicts with, then execs systemd-shutdown as PID 1, which SIGTERMs every
#    process left (units with DefaultDependencies=no are among them) and waits;
# 2. SIGKILL the namespace's PID 1 (the kernel then kills everything in the
#    namespace) 0.5 s after systemd-shutdown started, or 5 s after step 1.
#    systemd-shutdown's wait is cut short on purpose: for a process it did not
#    fork (e.g. one we nsenter'd, still exiting when it looked) it gets no
#    SIGCHLD and sleeps ~10 s before checking again;
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
# wait_gone TICKS (of 50 ms): until unshare has exited
wait_gone() {
    local n=$1
    while [ "$n" -gt 0 ] && running "$upid"; do sleep 0.05; n=$((n - 1)); done
    ! running "$upid"
}

if [ -n "$upid" ] && ours; then
    nspid=$(awk '{print $1}' "/proc/$upid/task/$upid/children" 2>/dev/null || true)
    if [ -n "$nspid" ] && running "$nspid"; then
        # --no-fork + sh: see run() in test/helpers/systemd.ts for why not plain nsenter --pid.
        timeout -k 1 5 nsenter --target "$nspid" --mount --pid --no-fork -- /bin/sh -c '"$@"; exit $?' sh \
            /usr/bin/env SYSTEMD_IGNORE_CHROOT=1 systemctl --no-block exit >/dev/null 2>&1
        # Up to 5 s for the manager; once systemd-shutdown runs, 0.5 s more.
        budget=100 grace=10
        while [ "$budget" -gt 0 ] && [ "$grace" -gt 0 ] && running "$upid"; do
            if [ "$(cat "/proc/$nspid/comm" 2>/dev/null)" = systemd-shutdow ]; then grace=$((grace - 1)); fi
            sleep 0.05
            budget=$((budget - 1))
        done
        # (nspid is still unshare's child as long as unshare runs)
        running "$upid" && kill -KILL "$nspid" 2>/dev/null
    fi
    wait_gone 100 || kill -KILL "$upid" 2>/dev/null
    wait_gone 100
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
