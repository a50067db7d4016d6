#!/usr/bin/env bash
# rootfs.sh KIND OUT.tar: assembles a root filesystem for the container tests from this machine's own files (there
# is no registry to pull node:20-slim or alpine from), written as a tar for `podman import`.
#   node   a node:20-slim stand-in: busybox (sh and the small tools), this machine's node and npm at node:20-slim's
#          paths (/usr/local/bin/node, /usr/local/lib/node_modules/npm), the libraries ldd lists for node and curl,
#          curl (podman kube play runs httpGet probes as `curl` inside the container; a kubelet needs none), and
#          /etc/passwd with node:20-slim's `node` user (uid 1000). No compiler, make or python3.
#   musl   an Alpine-style musl root: busybox-static and musl's dynamic loader at /lib/ld-musl-<arch>.so.1, no glibc.
# Needs busybox-static and musl (scripts/container-setup.sh installs both). NODE_BIN overrides which node is copied.
set -euo pipefail
kind=${1:?usage: rootfs.sh node|musl OUT.tar}
out=${2:?usage: rootfs.sh node|musl OUT.tar}
die() { echo "rootfs: $*" >&2; exit 1; }
[ -x /bin/busybox ] || die "/bin/busybox missing: run scripts/container-setup.sh (busybox-static)"

work=$(mktemp -d /var/tmp/tend-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,etc,tmp,proc,sys,dev,run,root,home/node}
chmod 1777 "$root/tmp"

# FILE and every library ldd lists for it, at DEST and at the libraries' own paths
copy_with_libs() {
  local src=$1 dst=$2 lib
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$src" "$root$dst"
  ldd "$src" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

cp /bin/busybox "$root/bin/busybox"
ln -s ../../bin/busybox "$root/usr/bin/env"   # for #!/usr/bin/env shebangs (npm, npx)
for applet in $(/bin/busybox --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done

case $kind in
  node)
    node_bin=$(readlink -f "${NODE_BIN:-$(command -v node)}")
    npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
    copy_with_libs "$node_bin" /usr/local/bin/node
    mkdir -p "$root/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
    rm -f "$root/bin/curl"
    copy_with_libs "$(readlink -f "$(command -v curl)")" /usr/bin/curl
    printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
    chown 1000:1000 "$root/home/node"
    ;;
  musl)
    loader=$(ls /lib/ld-musl-"$(uname -m)".so.1 2>/dev/null) || die "musl's loader /lib/ld-musl-$(uname -m).so.1 missing: run scripts/container-setup.sh (musl)"
    mkdir -p "$root/lib"
    cp -L "$loader" "$root$loader"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    ;;
  *) die "unknown kind '$kind' (node or musl)" ;;
esac
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
tar -C "$root" -cf "$out.tmp" . && mv "$out.tmp" "$out"
