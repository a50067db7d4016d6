#!/bin/bash
# boot.sh - host side of booting a throw-away systemd for tend's tests.
#
#   boot.sh STATE CGROUP [ro:PATH|rw:PATH]...
#
# Called by test/helpers/systemd.ts (see docs/testing-systemd.md), which has
# already created STATE (units/, harness.target, machine-id, console.fifo).
# CGROUP is the cgroup2 directory to create for this box; its name must be
# tend-sdbox.<pid of the owning process>.<random>. PATH arguments are handed
# to init.sh (host paths to make visible inside the box at the same path).
#
# This script does not fork the box and return: it ends by exec'ing unshare,
# which stays in the foreground until systemd exits. So the caller's child
# process IS unshare, and:
#   - setpriv --pdeathsig KILL: if the caller dies, unshare gets SIGKILL;
#   - unshare --kill-child: if unshare dies, the namespace's PID 1 gets
#     SIGKILL, and the kernel then kills every process in the PID namespace.
set -euo pipefail

die() { echo "boot.sh: $*" >&2; exit 97; }

[ $# -ge 2 ] || die "usage: boot.sh STATE CGROUP [ro:PATH|rw:PATH]..."
STATE=$1 CG=$2
shift 2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[ "$(id -u)" -eq 0 ] || die "must run as root"
[ -d "$STATE/units" ] && [ -p "$STATE/console.fifo" ] || die "$STATE is not prepared"
case "${CG##*/}" in tend-sdbox.*.*) ;; *) die "bad cgroup name: $CG" ;; esac
BASE=${CG%/*}

# Sweep cgroups of earlier boxes whose owning process is gone (a test runner
# killed with SIGKILL leaves its empty cgroup behind). Boxes of live owners,
# including concurrent ones, are never touched.
for old in "$BASE"/tend-sdbox.*; do
    [ -d "$old" ] || continue
    owner=${old##*/tend-sdbox.}
    owner=${owner%%.*}
    case "$owner" in ''|*[!0-9]*) continue ;; esac
    [ ! -d "/proc/$owner" ] || continue
    # Should anything still run in it, kill it (cgroup.kill: Linux >= 5.14).
    if grep -q '^populated 1' "$old/cgroup.events" 2>/dev/null && [ -e "$old/cgroup.kill" ]; then
        echo 1 > "$old/cgroup.kill" 2>/dev/null || true
    fi
    # Deepest first; a directory still busy is left for the next sweep.
    find "$old" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

mkdir "$CG"
echo "$CG" > "$STATE/cgroup"
echo $$ > "$STATE/unshare.pid"   # same PID after the exec below

# New PID (with a fresh /proc), mount, network, UTS and IPC namespaces, all
# mounts private. The cgroup namespace is created by init.sh once it has moved
# itself into $CG.
exec setpriv --pdeathsig KILL -- \
    unshare --pid --fork --kill-child --mount-proc --mount --propagation private \
            --net --uts --ipc -- \
    /bin/bash "$HERE/init.sh" stage1 "$STATE" "$CG" "$@"
