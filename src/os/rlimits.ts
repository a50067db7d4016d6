// Resource limits for children: exactly the limits tend was started with, plus --limit overrides, on every start.
import type { LimitSpec } from '../config/run-config.js';
import { native } from './native.js';

/** One setrlimit call to make in the child, between fork and exec. */
export interface RlimitEntry {
  readonly resource: number;
  readonly soft: number;
  readonly hard: number;
}

/** Environment variables the launcher sets for tend alone; children never see them. */
export const LAUNCHER_ENV = ['TEND_INHERITED_RLIMITS', 'TEND_EXEC_MONOTONIC_NS', 'TEND_ADDON'] as const;

// The setrlimit calls that give a child the limits tend was started with, where they differ from tend's own now (Node
// raises the open-files soft limit at start), from the launcher's record of them ("7=1024:524288,4=0:inf"); null when
// there is no record (tend was started without bin/tend's launcher).
export function inheritedLimitChanges(recorded: string | undefined): RlimitEntry[] | null {
  return recorded === undefined || recorded === '' ? null : native.changedLimits(recorded);
}

// The inherited limits a child gets back, then the configured overrides (an overridden resource gets only its
// override).
export function limitsForChild(inherited: readonly RlimitEntry[] | null, overrides: readonly LimitSpec[]): RlimitEntry[] {
  if (overrides.length === 0) return inherited === null ? [] : [...inherited];
  const resources = native.rlimitResources();
  const overridden = new Set(overrides.map((o) => resources[o.name]));
  const entries: RlimitEntry[] = (inherited ?? []).filter((entry) => !overridden.has(entry.resource));
  for (const override of overrides) {
    const resource = resources[override.name];
    if (resource === undefined) continue;
    entries.push({ resource, soft: override.soft, hard: override.hard });
  }
  return entries;
}
