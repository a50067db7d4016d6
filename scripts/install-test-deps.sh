#!/usr/bin/env bash
# Installs, from Debian's packages, what the health tests use: promtool (checks /metrics' text format) and a real
# Prometheus that scrapes tend (both in Debian's `prometheus` package). Idempotent: does nothing when both are there.
# Without root or apt-get it says what is missing and exits 0, so the tests that need them skip with that reason.
set -euo pipefail

missing=()
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: not root or no apt-get; missing: ${missing[*]} (the promtool and Prometheus tests will be skipped)" >&2
  exit 0
fi
echo "install-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# The package's service is never started here: the tests start their own Prometheus on loopback.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
