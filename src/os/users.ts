// --user NAME[:GROUP] resolved to the uid, gid and supplementary groups the child runs with (like gosu and su-exec).
import type { UserSpec } from '../config/run-config.js';
import { usageError } from '../errors.js';
import { native } from './native.js';

/** The credentials a child is started with. */
export interface Credentials {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  /** The user's home directory when known from the password database, for $HOME. */
  readonly home: string | null;
  readonly name: string | null;
}

// Resolve names through the system's user and group databases; numeric ids work without an entry.
export function resolveCredentials(spec: UserSpec): Credentials {
  const shown = spec.group === null ? spec.user : `${spec.user}:${spec.group}`;
  const isNumeric = /^\d+$/.test(spec.user);
  const entry = isNumeric ? native.lookupUserById(Number(spec.user)) : native.lookupUser(spec.user);
  if (entry === null && !isNumeric) {
    throw usageError('--user', shown, `no user named "${spec.user}"`, 'create the user, or give a numeric uid[:gid]');
  }
  const uid = entry?.uid ?? Number(spec.user);
  let gid: number;
  if (spec.group === null) {
    gid = entry?.gid ?? uid;
  } else if (/^\d+$/.test(spec.group)) {
    gid = Number(spec.group);
  } else {
    const found = native.lookupGroup(spec.group);
    if (found === null) throw usageError('--user', shown, `no group named "${spec.group}"`, 'create the group, or give a numeric gid');
    gid = found;
  }
  // With a named user, the supplementary groups come from the group database (initgroups); otherwise just gid.
  const groups = entry === null ? [gid] : [...new Set([gid, ...native.groupList(entry.name, gid)])];
  return { uid, gid, groups, home: entry?.home ?? null, name: entry?.name ?? null };
}
