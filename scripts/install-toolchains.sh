#!/usr/bin/env bash
# Installs, from Debian's packages, the toolchains that `npm run build:prebuilt` and the musl/arm64 tests use:
# musl-gcc (musl-tools), the aarch64 glibc cross compiler (gcc-aarch64-linux-gnu), musl's arm64 headers and
# libraries (musl-dev:arm64, through dpkg's multiarch) and qemu-user to run arm64 programs. Idempotent: does
# nothing when everything is there. Without root or apt-get it says what is missing and exits 0, so the tests
# that need a missing part skip with that reason instead of failing.
set -euo pipefail

missing=()
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[ -f /usr/aarch64-linux-gnu/include/stdio.h ] || missing+=(libc6-dev-arm64-cross)
[ -f /usr/lib/aarch64-linux-musl/libc.a ] || missing+=(musl-dev:arm64)
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
command -v objdump >/dev/null 2>&1 || missing+=(binutils)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-toolchains: not root or no apt-get; missing: ${missing[*]} (musl/arm64 prebuilds and their tests will be skipped)" >&2
  exit 0
fi

# musl-dev:arm64 needs arm64 as a foreign architecture; adding it changes nothing else that is installed.
case " ${missing[*]} " in
  *" musl-dev:arm64 "*)
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;;
esac
echo "install-toolchains: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
