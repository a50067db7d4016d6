#!/usr/bin/env bash
# Installs what the tests use beyond the project's own dependencies: the framework fixtures from npm, and from
# Debian's packages what the health tests use: promtool (checks /metrics' text format) and a real
# Prometheus that scrapes tend (both in Debian's `prometheus` package). Idempotent: does nothing when both are there.
# Without root or apt-get it says what is missing and exits 0, so the tests that need them skip with that reason.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/apt-install.sh

# Real frameworks for the on-demand socket tests (express, fastify, koa, tsx), pinned by their own lock file.
if [ ! -d test/fixtures/frameworks/node_modules/tsx ] || [ ! -d test/fixtures/frameworks/node_modules/ws ]; then
  echo "install-test-deps: installing the framework fixtures (test/fixtures/frameworks)" >&2
  npm ci --prefix test/fixtures/frameworks --no-audit --no-fund --loglevel=error >/dev/null \
    || echo "install-test-deps: could not install test/fixtures/frameworks (the framework tests will be skipped)" >&2
fi

missing=()
{ command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

# The package's service is never started here: the tests start their own Prometheus on loopback.
apt_install install-test-deps "the promtool and Prometheus tests" --no-install-recommends "${missing[@]}" || exit 0
