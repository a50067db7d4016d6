// The help texts. Kept next to parse-args.ts so a new flag gets its line here in the same change.
import { DEFAULT_STOP_TIMEOUT_MS } from '../config/run-config.js';
import { formatDuration } from '../config/duration.js';

export const MAIN_USAGE = `tend — a process supervisor: a correct PID 1, staged stops, rlimits on every start.

Usage:
  tend run [options] -- <command> [args...]   supervise one command (see: tend run --help)
  tend --help                                  this text
  tend --version                               print the version

Exit codes: the child's own code; 128+N if it was killed by signal N; 126 not executable; 127 not found;
64 usage error; 71 the child could not be set up (limit, user, directory); 70 internal error.
Docs: README.md, docs/ (architecture, exit codes in docs/errors.md).
`;

export const RUN_USAGE = `Usage: tend run [options] -- <command> [args...]

Runs <command> directly (no shell; argv, environment and working directory passed through) and stays with it:
forwards signals, reaps orphaned zombies, stops in stages, waits for lingering processes, exits with its status.

Signals:
  --signal-scope group|child   where forwarded signals go: the child's process group (default; reaches a
                               worker behind a bash entrypoint) or the child's pid alone
  --stop SIG[:DUR],...         stop sequence on SIGTERM/SIGINT, e.g. TSTP:10s,TERM:25s (quiet, then terminate,
                               then KILL). Durations need a unit: ms, s, m, h. Default: forward the signal
                               received, KILL after ${formatDuration(DEFAULT_STOP_TIMEOUT_MS)}.
                               The same sequence stops processes that linger after the child exits.
Setup:
  --before "<command line>"    run a step before the command (repeatable, in order). Quoting as in sh, but no
                               shell: use --before "sh -c '...'" for pipes, && or variables. A failing step
                               stops the chain and tend exits with its status. Signals reach the running step.
Limits and privileges:
  --limit NAME=SOFT[:HARD]     resource limit for every process tend starts, every time (repeatable).
                               NAME: as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio
                               rttime sigpending stack. Values: a number, "unlimited", sizes may use K/M/G/T.
                               Without --limit a child gets exactly the limits tend was started with.
  --user USER[:GROUP]          run as USER (name or uid) with its supplementary groups, like gosu/su-exec
Reaping:
  --no-subreaper               when not PID 1, do not register as child subreaper (orphans then go to init)
Exit status:
  --remap-exit FROM:TO         map the child's exit code FROM to TO (repeatable), e.g. --remap-exit 143:0
Other:
  -v, --verbose                log every action to stderr, prefixed "tend:"
  -h, --help                   this text

Exit codes: the child's code; 128+N if killed by signal N; 126 not executable; 127 not found; 64 usage error;
71 setup failed (limit, user, directory); 70 internal error.

Examples:
  tend run -- node server.js
  tend run --stop TSTP:10s,TERM:25s -- bundle exec sidekiq
  tend run --before "node migrate.js" --limit nofile=65536 --user app -- node server.js
`;
