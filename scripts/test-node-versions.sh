#!/usr/bin/env bash
# tend supports Node 20, 22 and 24. This installs Node 22 and 24 from the npm registry (as the `node` package)
# into .cache/node-versions and runs the suites on each: the addon, unit, preload and library tests with the test
# runner itself on that Node, and the CLI tests with tend running on it (TEND_NODE, honoured by the launcher).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.cache/node-versions
status=0
for major in 22 24; do
  bin="$cache/$major/node_modules/.bin/node"
  if [ ! -x "$bin" ]; then
    npm install --no-save --no-audit --no-fund --prefix "$cache/$major" "node@$major" >/dev/null
  fi
  echo "== Node $("$bin" --version): addon, unit, preload and library tests"
  "$bin" scripts/run-tests.js native/ unit/ test/os test/preload test/app || status=1
  echo "== Node $("$bin" --version): tend itself on it (TEND_NODE): CLI, pools, PID 1"
  TEND_NODE="$PWD/$bin" node scripts/run-tests.js integration pid1 || status=1
done
exit $status
