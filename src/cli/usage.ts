// The help texts. Kept next to parse-args.ts so a new flag gets its line here in the same change.
import { DEFAULT_STOP_TIMEOUT_MS } from '../config/run-config.js';
import { formatDuration } from '../config/duration.js';

export const MAIN_USAGE = `tend — a process supervisor: a correct PID 1, staged stops, rlimits on every start.

Usage:
  tend run [options] -- <command> [args...]   supervise one command, or a pool with --workers N
                                               (see: tend run --help)
  tend reload --control PATH                   rolling reload of a running pool; exits 0 when every worker
                                               was replaced, 65 when the reload failed and was rolled back
  tend status --control PATH                   print a running pool's status as JSON
  tend --help                                  this text
  tend --version                               print the version

Exit codes: the child's own code; 128+N if it was killed by signal N; 126 not executable; 127 not found;
64 usage error; 65 reload failed (tend reload); 68 control socket unreachable; 69 cannot listen;
70 internal error; 71 the child could not be set up (limit, user, directory); 75 a pool gave up after a
crash loop; 78 config file unreadable.
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
Worker pool (any of these needs --workers):
  -w, --workers N|max|auto     run N copies; max = one per core, auto = cores - 1 (at least 1). Each worker
                               gets TEND_WORKER_INDEX (0..N-1), TEND_WORKER_COUNT and TEND_GENERATION
  --listen ADDRESS             a socket tend owns and hands to every worker (repeatable):
                               tcp://0.0.0.0:3000, tcp://[::]:3000, unix:/run/app.sock?mode=0660&owner=app&group=www
                               (name=NAME sets LISTEN_FDNAMES). Node apps that call server.listen(3000) use it
                               unchanged; other languages get LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (fds from 3)
  --socket-strategy shared|reuseport   one socket for all workers (default) or one SO_REUSEPORT socket per slot
  --ready MODE                 when a worker counts as ready: auto (default: READY=1, or a Node server
                               listening; with no --listen, 1 s up), notify (READY=1 on $NOTIFY_SOCKET),
                               listen, delay:2s, http://127.0.0.1:3000/health, tcp://127.0.0.1:3000
  --ready-timeout DUR          a worker not ready by then is stopped (default 60s)
  --restart-delay DUR          first crash-restart delay (default 100ms); doubles per failed start, with jitter
  --restart-max-delay DUR      the cap (default 30s)
  --stable-after DUR           uptime that resets the backoff (default 10s)
  --max-restarts N             consecutive failed starts before the pool counts as crash-looping (default 10)
  --on-crash-loop exit|retry   exit: stop everything and exit 75 (default); retry: keep trying at the cap
  --reload-surge N             slots replaced at once during a reload (default 1). SIGHUP reloads: each new
                               worker must be ready before its old one is stopped; a failure rolls back. A
                               SIGHUP during a reload runs one more reload after it (several coalesce)
  --max-memory SIZE            replace a worker whose RSS stays above SIZE (e.g. 512M) for the guard window
  --max-cpu PCT                replace a worker whose CPU stays above PCT% for the guard window
  --guard-window DUR           how long a limit must be exceeded (default 30s); open files are also watched,
                               with a warning at 80% of the worker's nofile limit
  --watchdog DUR               give workers WATCHDOG_USEC; one whose WATCHDOG=1 pings stop is replaced
  --no-preload                 do not inject the Node preload (listen redirect and graceful HTTP drain)
  --control PATH               a unix socket for tend reload / tend status
  -c, --config FILE            read settings from a YAML or JSON file (keys = flag names without dashes, plus
                               command); flags given on the command line win
Other:
  -v, --verbose                log every action to stderr, prefixed "tend:"
  -h, --help                   this text

Exit codes: the child's code; 128+N if killed by signal N; 126 not executable; 127 not found; 64 usage error;
69 cannot listen; 71 setup failed (limit, user, directory); 70 internal error; 75 a pool gave up; 78 bad config
file. A pool stopped by SIGTERM/SIGINT exits 0.

Examples:
  tend run -- node server.js
  tend run --workers 4 --listen tcp://0.0.0.0:3000 --control /run/app.ctl -- node server.js
  tend run --stop TSTP:10s,TERM:25s -- bundle exec sidekiq
  tend run --before "node migrate.js" --limit nofile=65536 --user app -- node server.js
`;

export const CONTROL_USAGE = `Usage: tend reload --control PATH
       tend status --control PATH

Talk to a running pool started with tend run --workers N --control PATH (or set TEND_CONTROL=PATH).
reload waits for the rolling reload to finish: exit 0 when every worker was replaced, 65 when the reload
failed and was rolled back (the old workers keep serving), 68 when the control socket cannot be reached.
status prints the pool's state as JSON.
`;
