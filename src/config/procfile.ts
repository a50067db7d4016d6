// A Procfile (foreman, honcho, Heroku): `name: command` lines → one long-running service per line. Pure.
import { TendError } from '../errors.js';
import { splitCommandLine } from './command-line.js';

/** One process type of a Procfile. */
export interface ProcfileEntry {
  readonly name: string;
  readonly command: readonly string[];
  readonly line: number;
}

// foreman's and honcho's rule for a process line: a name of letters, digits, "_" and "-", a colon, the command.
const LINE = /^([A-Za-z0-9_-]+):\s*(.*)$/;

// Parse a Procfile. A command that needs no shell runs directly; one with $VARS, pipes or && runs under sh -c, as
// foreman and honcho run every line. Lines that are not `name: command` are skipped with a warning.
export function parseProcfile(path: string, text: string, warnings: string[]): ProcfileEntry[] {
  const entries: ProcfileEntry[] = [];
  const seen = new Set<string>();
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    const name = match?.[1] ?? '';
    const commandText = (match?.[2] ?? '').trim();
    if (match === null || commandText === '') {
      warnings.push(`${path}:${index + 1}: skipped: not a "name: command" line`);
      continue;
    }
    if (!/^[A-Za-z]/.test(name) || name.length > 64) {
      throw new TendError('TEND_ERR_USAGE', `${path}:${index + 1}: process name ${JSON.stringify(name)} is not a valid service name; start it with a letter (at most 64 characters)`);
    }
    if (seen.has(name)) {
      throw new TendError('TEND_ERR_USAGE', `${path}:${index + 1}: process name ${JSON.stringify(name)} appears twice; give each line its own name`);
    }
    seen.add(name);
    if (commandText.includes('\0')) throw new TendError('TEND_ERR_USAGE', `${path}:${index + 1}: the command contains a NUL byte; remove it`);
    const split = splitCommandLine(commandText);
    entries.push({ name, command: 'argv' in split ? split.argv : ['/bin/sh', '-c', commandText], line: index + 1 });
  }
  if (entries.length === 0) {
    throw new TendError('TEND_ERR_USAGE', `${path}: no process lines; write one "name: command" line per process, e.g. web: node server.js`);
  }
  return entries;
}
