#!/bin/bash
# init.sh - runs as PID 1 INSIDE the namespaces created by boot.sh, builds the
# box's root file system and ends by exec'ing the real systemd as PID 1.
#
#   init.sh stage1 STATE CGROUP [ro:PATH|rw:PATH]...
#       Move ourselves (only us) into CGROUP, then unshare a cgroup namespace
#       so that CGROUP becomes "/" for systemd, and re-exec as stage2.
#   init.sh stage2 STATE [ro:PATH|rw:PATH]...
#       Build the root under STATE/root, pivot_root into it, exec systemd.
#
# The root is a read-only, non-recursive bind of the host's "/" with private
# tmpfs on /run /tmp /var/tmp /var/log /var/lib/systemd, private /dev /proc
# /sys and cgroup2. STATE is bound at /run/harness, STATE/units at
# /etc/systemd/system. Each ro:/rw:PATH is made visible at the same absolute
# path (read-only / writable). boot.sh created the mount namespace with
# private propagation, so none of these mounts is ever seen by the host.
set -euo pipefail

die() { echo "init.sh: $*" >&2; exit 98; }

# Everything below assumes a private PID namespace: refuse to run otherwise.
[ "$$" -eq 1 ] || die "not PID 1 of a new PID namespace (pid $$), refusing"

stage=$1 STATE=$2
shift 2

if [ "$stage" = stage1 ]; then
    CG=$1
    shift
    echo 0 > "$CG/cgroup.procs"          # "0" = the writing process
    exec unshare --cgroup -- /bin/bash "$0" stage2 "$STATE" "$@"
fi
[ "$stage" = stage2 ] || die "unknown stage: $stage"

R=$STATE/root
mkdir -p "$R"

# Read-only view of the host root (non-recursive: no host submounts).
mount --bind / "$R"
mount -o remount,bind,ro "$R"

# Kernel file systems of our own namespaces. /proc/sys stays read-only so that
# systemd's boot-time bumps of global sysctls (fs.nr_open, ...) fail harmlessly.
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
for f in "$R/proc/sys" "$R/proc/sysrq-trigger"; do
    [ -e "$f" ] || continue
    mount --bind "$f" "$f"
    mount -o remount,bind,ro "$f"
done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
# Mounted from inside our cgroup namespace: its root is the box's cgroup.
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"

# Minimal /dev. /dev/console is the FIFO the Node helper drains into
# STATE/console.log.
mount -t tmpfs -o mode=0755,nosuid,size=4m tmpfs "$R/dev"
for n in null zero full random urandom tty; do
    touch "$R/dev/$n"
    mount --bind "/dev/$n" "$R/dev/$n"
done
touch "$R/dev/console"
mount --bind "$STATE/console.fifo" "$R/dev/console"
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$R/dev/${i#*:}"; done

# Writable scratch space, gone with the namespace.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/var/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/var/log"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/var/lib/systemd"

# Harness state; our unit directory replaces the host's /etc/systemd/system
# (whose enabled units we do not want); a fresh machine id.
mkdir -p "$R/run/harness"
mount --bind "$STATE" "$R/run/harness"
mount --bind "$STATE/units" "$R/etc/systemd/system"
if [ -f "$R/etc/machine-id" ]; then
    mount --bind "$STATE/machine-id" "$R/etc/machine-id"
fi
# No generators: they would turn the host's fstab, gettys, SysV scripts...
# into units. Only our units and what they explicitly pull in exist.
hidden=""
for d in /lib/systemd/system-generators /usr/lib/systemd/system-generators \
         /usr/local/lib/systemd/system-generators /etc/systemd/system-generators; do
    d=$(readlink -f "$R$d") || continue          # /lib may be a symlink to /usr/lib
    if [[ $d == "$R"/* ]] && [ -d "$d" ] && [[ " $hidden " != *" $d "* ]]; then
        mount -t tmpfs -o ro,mode=0755 tmpfs "$d"
        hidden="$hidden $d"
    fi
done

same_file() { [ "$(stat -Lc %d:%i "$1" 2>/dev/null)" = "$(stat -Lc %d:%i "$2" 2>/dev/null)" ]; }
# expose ro|rw PATH: make host directory PATH visible at PATH inside the box.
expose() {
    local mode=$1 p=$2 m
    [ -d "$p" ] || die "cannot expose $p: not a directory"
    # Already visible through the read-only root bind?
    if [ "$mode" = ro ] && same_file "$p" "$R$p"; then return 0; fi
    if ! mkdir -p "$R$p" 2>/dev/null; then
        # No mount point in the read-only root: PATH lives on another file
        # system (e.g. a separate /home). Expose that file system first.
        m=$(findmnt -n -o TARGET -T "$p")
        [ "$m" != / ] && [ "$m" != "$p" ] || die "cannot create a mount point for $p"
        expose ro "$m"
        if [ "$mode" = ro ] && same_file "$p" "$R$p"; then return 0; fi
    fi
    mount --bind "$p" "$R$p"
    if [ "$mode" = ro ]; then mount -o remount,bind,ro "$R$p"; fi
}
for arg in "$@"; do
    case "$arg" in
        ro:/*|rw:/*) expose "${arg%%:*}" "${arg#*:}" ;;
        *) die "bad path argument: $arg" ;;
    esac
done

# Switch root. The old root is detached lazily; nothing refers to it after this.
mkdir "$R/run/.oldroot"
cd "$R"
pivot_root . run/.oldroot
cd /
umount -l /run/.oldroot
rmdir /run/.oldroot

# harness.target (written by the helper into units/) pulls in journald only.
SYSTEMD=/lib/systemd/systemd
[ -x "$SYSTEMD" ] || SYSTEMD=/usr/lib/systemd/systemd
exec /usr/bin/env -i container=tend-test-harness LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "$SYSTEMD" --unit=harness.target --show-status=no --log-color=no
