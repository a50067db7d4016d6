#!/usr/bin/env bash
# Installs and configures rootful podman (Debian bookworm: podman 4.3) for the container tests (test/container/) and
# `examples/docker`. Idempotent: ~1-2 s when everything is in place. Without root or apt-get it says what is missing
# and exits 0, so the container tests skip with that reason instead of failing.
#
# Configuration, each part written only where this machine needs it (harmless on an ordinary machine), to
# /etc/containers/containers.conf.d/50-tend.conf (delete it to undo):
#   runtime = "runc"          hybrid cgroups (v1 plus a v2 mount holding controllers): crun 1.8 refuses them
#   cgroup_manager = cgroupfs, events_logger = file     systemd is not PID 1
#   default_ulimits            no CAP_SYS_RESOURCE: podman's default nofile (1048576) is above our hard limit and
#                              the runtime's setrlimit fails with EPERM, so use this shell's hard limits
#   netns = "none"             containers get their own loopback only; the tests talk to them with podman exec
set -euo pipefail
. "$(dirname "$0")/lib/apt-install.sh"

pkgs=(podman runc catatonit busybox-static musl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install container-setup "the container tests" "${missing[@]}" || exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "container-setup: not root; rootful podman config not written" >&2; exit 0; }

conf=/etc/containers/containers.conf.d/50-tend.conf
containers="" engine=""
if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)" ]; then
  engine+=$'runtime = "runc"\n'
fi
[ -d /run/systemd/system ] || engine+=$'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
capeff=$((16#$(awk '/^CapEff/ {print $2}' /proc/self/status)))
if (( (capeff >> 24 & 1) == 0 )); then   # CAP_SYS_RESOURCE (bit 24) missing: no hard limit can be raised
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  # podman lowers its own nproc limit to 32768 before it starts the runtime: ask for no more than that
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  containers+="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"$'\n'
fi
containers+=$'netns = "none"\n'
new="# written by tend's scripts/container-setup.sh; delete this file to undo
[containers]
${containers}
[engine]
${engine}"
mkdir -p "$(dirname "$conf")"
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$(printf '%s\n' "$new")" ]; then
  printf '%s\n' "$new" >"$conf"
  echo "container-setup: wrote $conf" >&2
fi

# overlay storage cannot sit on overlayfs (podman inside another container): use vfs there
graph=/var/lib/containers/storage
mkdir -p "$graph"
if [ "$(stat -f -c %T "$graph")" = overlayfs ] && [ ! -f /etc/containers/storage.conf ]; then
  printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "%s"\n' "$graph" \
    >/etc/containers/storage.conf
  echo "container-setup: wrote /etc/containers/storage.conf (vfs: $graph is on overlayfs)" >&2
fi
