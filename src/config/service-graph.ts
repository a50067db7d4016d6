// Checks across services: every dependency exists, dependencies have no cycle, no two services (or one twice) listen
// on the same address. Pure; errors name the file, the service and the fix.
import { TendError } from '../errors.js';
import type { ListenSpec } from './pool-config.js';
import type { ServiceSpec } from './spec.js';

// Validate the services of one tend: names, dependencies and listen addresses.
export function checkServices(where: string, services: readonly ServiceSpec[]): void {
  const names = new Set<string>();
  for (const service of services) {
    if (names.has(service.name)) throw new TendError('TEND_ERR_USAGE', `${where}: two services are named "${service.name}"; give each its own name`);
    names.add(service.name);
  }
  for (const service of services) {
    for (const dependency of service.dependsOn) {
      if (!names.has(dependency)) {
        throw new TendError('TEND_ERR_USAGE', `${where}: services.${service.name}: depends-on "${dependency}" is not a service here; the services are: ${[...names].join(', ')}`);
      }
    }
  }
  const cycle = findCycle(services);
  if (cycle !== null) {
    throw new TendError('TEND_ERR_USAGE', `${where}: depends-on has a cycle: ${cycle.join(' → ')}; remove one of these dependencies`);
  }
  checkListen(where, services);
}

// Depth-first search over depends-on; returns the first cycle found as a closed path (a → b → a), or null.
export function findCycle(services: readonly ServiceSpec[]): string[] | null {
  const edges = new Map(services.map((s) => [s.name, s.dependsOn]));
  const state = new Map<string, 'open' | 'done'>();
  for (const start of edges.keys()) {
    if (state.has(start)) continue;
    // Iterative DFS: the path is the stack of services being visited.
    const path: string[] = [start];
    const next: number[] = [0];
    state.set(start, 'open');
    while (path.length > 0) {
      const node = path[path.length - 1] ?? '';
      const index = next[next.length - 1] ?? 0;
      const deps = edges.get(node) ?? [];
      if (index >= deps.length) {
        state.set(node, 'done');
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = index + 1;
      const dep = deps[index] ?? '';
      if (state.get(dep) === 'open') return [...path.slice(path.indexOf(dep)), dep];
      if (!state.has(dep) && edges.has(dep)) {
        state.set(dep, 'open');
        path.push(dep);
        next.push(0);
      }
    }
  }
  return null;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function clashes(a: ListenSpec, b: ListenSpec): boolean {
  if (a.kind === 'unix' || b.kind === 'unix') return a.kind === 'unix' && b.kind === 'unix' && a.path === b.path;
  return a.port === b.port && a.port !== 0 && (a.host === b.host || WILDCARDS.has(a.host) || WILDCARDS.has(b.host));
}

function describe(listen: ListenSpec): string {
  return listen.kind === 'unix' ? `unix:${listen.path}` : `tcp://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
}

function checkListen(where: string, services: readonly ServiceSpec[]): void {
  const seen: { service: string; listen: ListenSpec }[] = [];
  for (const service of services) {
    for (const listen of service.listen) {
      const other = seen.find((s) => clashes(s.listen, listen));
      if (other !== undefined) {
        const who = other.service === service.name ? `service "${service.name}" twice` : `services "${other.service}" and "${service.name}"`;
        throw new TendError('TEND_ERR_USAGE', `${where}: listen ${describe(listen)} is given to ${who} (it clashes with ${describe(other.listen)}); one socket serves one service: give each its own address`);
      }
      seen.push({ service: service.name, listen });
    }
  }
}
