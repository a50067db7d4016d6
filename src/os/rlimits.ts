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

// Parse the launcher's record of the limits tend was exec'd with ("7=1024:524288,4=0:inf"); null if absent.
export function parseInheritedLimits(text: string | undefined): Map<number, { soft: number; hard: number }> | null {
  if (text === undefined || text === '') return null;
  const limits = new Map<number, { soft: number; hard: number }>();
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const colon = item.indexOf(':', eq + 1);
    const resource = limitNumber(item.slice(0, eq));
    const soft = limitNumber(item.slice(eq + 1, colon));
    const hard = limitNumber(item.slice(colon + 1));
    // An item that is not RESOURCE=SOFT:HARD (digits, or inf for a limit) is skipped.
    if (eq < 0 || colon < 0 || !Number.isFinite(resource) || Number.isNaN(soft) || Number.isNaN(hard)) continue;
    limits.set(resource, { soft, hard });
  }
  return limits;
}

// Digits as a number, 'inf' as Infinity, anything else NaN (the launcher writes only these).
function limitNumber(text: string): number {
  if (text === 'inf') return Infinity;
  if (text === '' || text.length > 20) return NaN;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return NaN; // not 0-9
  }
  return Number(text);
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
