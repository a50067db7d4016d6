#!/usr/bin/env bash
# The demo from the README: a job worker behind a bash entrypoint that forgot `exec`, run as PID 1 of a new PID
# namespace (as in a container). tend gets SIGTERM mid-job; the job still completes. Then a 1000-zombie storm.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tend="$here/bin/tend"
fixtures="$here/test/fixtures"
if [ "$(id -u)" = 0 ] && unshare -p -f --mount-proc true 2>/dev/null; then
  as_pid1=(unshare -p -f --mount-proc --kill-child)
  echo "== tend as PID 1 of a new PID namespace"
else
  as_pid1=()
  echo "== (not root: running tend as an ordinary process with a child subreaper)"
fi

# Wait (at most 20 s) until FILE contains PATTERN at least N times.
wait_for() {
  local file=$1 pattern=$2 n=${3:-1} deadline=$((SECONDS + 20))
  until [ "$(grep -c -- "$pattern" "$file")" -ge "$n" ]; do
    if [ $SECONDS -ge $deadline ]; then echo "demo: timed out waiting for '$pattern'"; cat "$file"; exit 1; fi
    sleep 0.05
  done
}
# The pid of tend itself: the child of unshare when run as PID 1, else the background job.
tend_pid_of() {
  if [ ${#as_pid1[@]} -gt 0 ]; then pgrep -P "$1"; else echo "$1"; fi
}

echo "== 1. a job worker behind bash (no exec), SIGTERM while job 1 runs"
out=$(mktemp)
JOB_MS=1500 "${as_pid1[@]}" "$tend" run --verbose -- "$fixtures/entrypoint.sh" >"$out" 2>&1 &
runner=$!
wait_for "$out" 'job 1 started'
tend_pid=$(tend_pid_of "$runner")
kill -TERM "$tend_pid"
set +e; wait "$runner"; code=$?; set -e
cat "$out"
grep -q 'job 1 done' "$out" || { echo "demo: the job did not complete"; exit 1; }
echo "== the job completed; tend exited with $code (bash itself died of the forwarded TERM: 143)"
rm -f "$out"

echo
echo "== 2. 1000 orphaned zombies at once"
out=$(mktemp)
"${as_pid1[@]}" "$tend" run --verbose -- "$fixtures/zombie-storm.py" 1000 >"$out" 2>&1 &
runner=$!
wait_for "$out" 'burst 1000'
wait_for "$out" 'reaped pid' 1000
tend_pid=$(tend_pid_of "$runner")
echo "== reaped $(grep -c 'reaped pid' "$out") processes; zombies left under tend: $(ps -o stat= --ppid "$tend_pid" | grep -c Z || true)"
kill -TERM "$tend_pid"
wait "$runner" || true
rm -f "$out"
echo "== demo done"
