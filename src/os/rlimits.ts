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
export const LAUNCHER_ENV = ['TEND_INHERITED_RLIMITS', 'TEND_EXEC_MONOTONIC_NS'] as const;

// Parse the launcher's record of the limits tend was exec'd with ("7=1024:524288,4=0:inf"); null if absent.
export function parseInheritedLimits(text: string | undefined): Map<number, { soft: number; hard: number }> | null {
  if (text === undefined || text === '') return null;
  const limits = new Map<number, { soft: number; hard: number }>();
  for (const item of text.split(',')) {
    const match = /^(\d+)=(\d+|inf):(\d+|inf)$/.exec(item);
    if (match === null) continue;
    const value = (s: string | undefined): number => (s === 'inf' ? Infinity : Number(s));
    limits.set(Number(match[1]), { soft: value(match[2]), hard: value(match[3]) });
  }
  return limits;
}

// The setrlimit calls that give a child the inherited limits (undoing Node's start-up raise of the open-files
// soft limit) and then the configured overrides.
export function limitsForChild(inherited: ReadonlyMap<number, { soft: number; hard: number }> | null, overrides: readonly LimitSpec[]): RlimitEntry[] {
  const entries: RlimitEntry[] = [];
  const resources = native.rlimitResources();
  const overridden = new Set(overrides.map((o) => resources[o.name]));
  if (inherited !== null) {
    for (const [resource, limit] of inherited) {
      if (overridden.has(resource)) continue;
      const current = native.getrlimit(resource);
      if (current.soft !== limit.soft || current.hard !== limit.hard) entries.push({ resource, ...limit });
    }
  }
  for (const override of overrides) {
    const resource = resources[override.name];
    if (resource === undefined) continue;
    entries.push({ resource, soft: override.soft, hard: override.hard });
  }
  return entries;
}
