#!/usr/bin/env bash
# Installs, from Debian's packages, the toolchains that `npm run build:prebuilt` and the musl/arm64 tests use:
# musl-gcc (musl-tools), the aarch64 glibc cross compiler (gcc-aarch64-linux-gnu), musl's arm64 headers and
# libraries (musl-dev:arm64, through dpkg's multiarch) and qemu-user to run arm64 programs. Idempotent: does
# nothing when everything is there. Without root or apt-get it says what is missing and exits 0, so the tests
# that need a missing part skip with that reason instead of failing.
set -euo pipefail
. "$(dirname "$0")/lib/apt-install.sh"

missing=()
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[ -f /usr/aarch64-linux-gnu/include/stdio.h ] || missing+=(libc6-dev-arm64-cross)
[ -f /usr/lib/aarch64-linux-musl/libc.a ] || missing+=(musl-dev:arm64)
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
command -v objdump >/dev/null 2>&1 || missing+=(binutils)
[ ${#missing[@]} -eq 0 ] && exit 0

# musl-dev:arm64 needs arm64 as a foreign architecture; adding it changes nothing else that is installed.
case " ${missing[*]} " in
  *" musl-dev:arm64 "*)
    if [ "$(id -u)" -eq 0 ]; then dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64; fi ;;
esac
apt_install install-toolchains "musl/arm64 prebuilds and their tests" --no-install-recommends "${missing[@]}" || exit 0
