// The help texts. `tend run --help` and the README's flag table are rendered from the flag table (config/flags.ts).
import { flagTable, SECTIONS, type Flag } from '../config/flags.js';

export const MAIN_USAGE = `tend — a process supervisor: a correct PID 1, staged stops, rlimits on every start.

Usage:
  tend run [options] -- <command> [args...]   supervise one command, or a pool with --workers N
                                               (see: tend run --help)
  tend run --config FILE                       run the services of a tend.yaml, a Procfile or an ecosystem file
  tend reload --control PATH [SERVICE]         rolling reload of every pool (or one service); exits 0 when every
                                               worker was replaced, 65 when the reload failed
  tend status --control PATH [SERVICE]         print the running services' status as JSON
  tend --help                                  this text
  tend --version                               print the version

Exit codes: the child's own code; 128+N if it was killed by signal N; 126 not executable; 127 not found;
64 usage error; 65 reload failed (tend reload); 68 control socket unreachable; 69 cannot listen;
70 internal error; 71 the child could not be set up (limit, user, directory); 75 a pool gave up after a
crash loop; 78 config file unreadable.
Docs: README.md, docs/ (architecture, exit codes in docs/errors.md).
`;

const RUN_HEAD = `Usage: tend run [options] -- <command> [args...]
       tend run --config FILE [options]

Runs <command> directly (no shell; argv, environment and working directory passed through) and stays with it:
forwards signals, reaps orphaned zombies, stops in stages, waits for lingering processes, exits with its status.
With --config, runs the services of a tend.yaml (services: map), a Procfile or a PM2 ecosystem file instead;
then only the options under "tend itself" may be given as flags (see docs/configuration.md).
`;

const RUN_TAIL = `
Every option except config and help is also a config-file key (the name without dashes).
`;

const RUN_EXIT = `
Exit codes: the child's code; 128+N if killed by signal N; 126 not executable; 127 not found; 64 usage error;
69 cannot listen; 71 setup failed (limit, user, directory); 70 internal error; 75 a service gave up; 78 bad config
file. A pool stopped by SIGTERM/SIGINT exits 0.

Examples:
  tend run -- node server.js
  tend run --workers 4 --listen tcp://0.0.0.0:3000 --control /run/app.ctl -- node server.js
  tend run --stop TSTP:10s,TERM:25s -- bundle exec sidekiq
  tend run --before "node migrate.js" --limit nofile=65536 --user app -- node server.js
  tend run --config tend.yaml
`;

const LEFT = 31;
const WIDTH = 112;

// The left column of a flag's help line: "-w, --workers N|max|auto".
export function flagSignature(flag: Flag): string {
  const long = `--${flag.name}${flag.arg === '' ? '' : ` ${flag.arg}`}`;
  return flag.short === undefined ? long : `-${flag.short}, ${long}`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

// One flag's help entry: signature, help text wrapped beside it, its default and what it needs.
function renderFlag(flag: Flag): string {
  const parts = [
    flag.default === null ? '' : `default: ${flag.default}`,
    flag.needs === 'pool' ? 'needs --workers' : flag.needs === 'restarts' ? 'needs a service that restarts' : '',
  ].filter((p) => p !== '');
  const notes = parts.length === 0 ? '' : ` (${parts.join('; ')})`;
  const signature = `  ${flagSignature(flag)}`;
  const body = wrap(`${flag.help}${notes}`, WIDTH - LEFT);
  const first = signature.length < LEFT ? `${signature.padEnd(LEFT)}${body.shift() ?? ''}` : signature;
  return [first, ...body.map((l) => `${' '.repeat(LEFT)}${l}`)].join('\n');
}

// `tend run --help`, rendered from the flag table.
export function runUsage(): string {
  const sections = SECTIONS.map((section) => {
    const flags = flagTable().filter((f) => f.cli && f.section === section);
    return flags.length === 0 ? '' : `${section}:\n${flags.map(renderFlag).join('\n')}\n`;
  });
  const fileOnly = flagTable().filter((f) => !f.cli).map((f) => (f.arg === '' ? f.name : `${f.name} ${f.arg}`));
  const keys = `Per-service keys only a config file has:\n${wrap(fileOnly.join(', '), WIDTH - 2).map((l) => `  ${l}`).join('\n')}\n`;
  return `${RUN_HEAD}\n${sections.join('')}${RUN_TAIL}${keys}${RUN_EXIT}`;
}

// The README's flag table (between its flags markers), rendered from the flag table.
export function readmeFlagTable(): string {
  const escape = (t: string): string => t.replaceAll('|', '\\|');
  const rows = flagTable().filter((f) => f.cli).map((f) => {
    const scope = f.scope === 'process' ? 'tend' : f.needs === 'pool' ? 'service (pool)' : f.needs === 'restarts' ? 'service (restarts)' : 'service';
    return `| \`${escape(flagSignature(f))}\` | ${scope} | ${f.default === null ? '' : escape(f.default)} | ${escape(f.help)} |`;
  });
  return ['| flag | scope | default | what it does |', '|---|---|---|---|', ...rows].join('\n');
}

export const CONTROL_USAGE = `Usage: tend status [SERVICE] [--json] [-v] [--check]
       tend reload|restart [SERVICE]
       tend scale [SERVICE] N|+N|-N
       tend signal [SERVICE] SIGNAL [--slot K] [--force]
       tend logs [SERVICE] [--slot K] [-n N] [-f]
       tend stop
Every command takes --control PATH (or TEND_CONTROL=PATH); without it, the one running tend is found.

status: a table on a terminal, JSON otherwise (--json); -v adds each worker's last lines; --check exits 0 when every
service is ready at its desired size, 1 when degraded. reload/restart and scale show each slot's progress and exit 0,
or 65 when the change failed (a failed reload stops the replacements still coming up; the workers not replaced keep serving). signal refuses TERM, INT and KILL without --force.
stop prints the exit code tend exits with. Exit 68: tend cannot be reached; 77: the request is not allowed
(only tend's user or root may change it; --control-group members may read status and logs).
`;
