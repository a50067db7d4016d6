// Flags (and an optional config file) → the one TendSpec the core runs. Flags alone, or with a flat file, make one
// service "main" (flags win key by key); a services map, Procfile or ecosystem file makes one service per entry, and
// then only tend's own flags may be given on the command line. Pure.
import { resolve } from 'node:path';
import { TendError } from '../errors.js';
import type { LoadedConfig, RawOptions } from './config-file.js';
import { CLI_ONLY, flagByName } from './flags.js';
import { applyProcessKey, applyServiceKey, finishService, newProcessDraft, newServiceDraft, type Origin } from './service-builder.js';
import { checkServices } from './service-graph.js';
import { stopDeadlineMs } from '../core/tend-machine.js';
import { checkStopBudget } from '../health/options.js';
import type { ServiceSpec, TendSpec } from './spec.js';

/** A spec and the warnings gathered while reading it (ignored PM2 keys, skipped Procfile lines). */
export interface BuiltSpec {
  readonly spec: TendSpec;
  readonly warnings: readonly string[];
}

const FLAGS_ORIGIN: Origin = { kind: 'flags' };

// Combine parsed flags, the command after `--` and a loaded config file into a TendSpec.
export function buildTendSpec(cli: RawOptions, command: readonly string[], file: LoadedConfig | null): BuiltSpec {
  if (file?.kind === 'services') return fromServices(cli, command, file);
  const fileOptions = file?.options ?? {};
  const merged: RawOptions = { ...fileOptions, ...cli };
  const originOf = (key: string): Origin => (key in cli || file === null ? FLAGS_ORIGIN : { kind: 'file', path: file.path, service: null });
  const draft = newServiceDraft('main');
  const given = new Set<string>();
  const process = newProcessDraft();
  for (const [key, value] of Object.entries(merged)) {
    if (value === undefined || CLI_ONLY.has(key)) continue;
    if (flagByName(key)?.scope === 'process') applyProcessKey(process, originOf(key), key, value);
    else applyServiceKey(draft, originOf(key), key, value, given);
  }
  if (command.length > 0) {
    if (command[0] === '') throw new TendError('TEND_ERR_USAGE', 'tend run: the command after -- is an empty word; give a program, e.g. tend run -- node server.js');
    draft.commandGiven = command;
  }
  if (draft.commandGiven === null) {
    throw new TendError('TEND_ERR_USAGE', 'tend run: no command given; write: tend run [options] -- <command> [args...] (or "command:" in the config file)');
  }
  if (file !== null && draft.cwd !== null) draft.cwd = resolve(file.path, '..', draft.cwd);
  const services: ServiceSpec[] = [finishService(draft, originOf, given, false)];
  checkServices(file?.path ?? 'tend run', services);
  const source = file === null ? { kind: 'flags' as const } : { kind: 'file' as const, path: file.path, format: 'tend' as const };
  const spec: TendSpec = { services, ...process, source };
  checkStopBudget(spec.stopDelayMs, stopDeadlineMs(spec), spec.graceMs);
  checkMetricsWorkers(spec, () => (file === null ? '--metrics-workers' : `${file.path}: metrics-workers`));
  return { spec, warnings: [] };
}

function fromServices(cli: RawOptions, command: readonly string[], file: Extract<LoadedConfig, { kind: 'services' }>): BuiltSpec {
  const what = file.format === 'tend' ? 'has a services: map' : file.format === 'procfile' ? 'is a Procfile' : 'is a PM2 ecosystem file';
  if (command.length > 0) {
    throw new TendError('TEND_ERR_USAGE', `tend run: ${file.path} ${what}, so it names the commands; remove the command after --`);
  }
  for (const [key, value] of Object.entries(cli)) {
    if (value === undefined || flagByName(key)?.scope !== 'service') continue;
    const fix = file.format === 'tend' ? `set ${key}: under each service that needs it in ${file.path}`
      : `write a tend.yaml with a services: map to give services settings (docs/configuration.md)`;
    throw new TendError('TEND_ERR_USAGE', `--${key}: a per-service setting, and ${file.path} ${what}; ${fix}`);
  }
  const process = newProcessDraft();
  const fileOrigin: Origin = { kind: 'file', path: file.path, service: null };
  for (const [key, value] of Object.entries(file.process)) {
    if (value !== undefined) applyProcessKey(process, fileOrigin, key, value);
  }
  for (const [key, value] of Object.entries(cli)) {
    if (value !== undefined && !CLI_ONLY.has(key)) applyProcessKey(process, FLAGS_ORIGIN, key, value);
  }
  checkServices(file.path, file.services);
  const spec: TendSpec = { services: file.services, ...process, source: { kind: 'file', path: file.path, format: file.format } };
  checkStopBudget(spec.stopDelayMs, stopDeadlineMs(spec), spec.graceMs);
  checkMetricsWorkers(spec, (service) => `${file.path}: services.${service}.metrics-workers`);
  return { spec, warnings: file.warnings };
}

// --metrics-workers re-exports the workers' metrics on tend's /metrics: without --health-listen there is no /metrics.
function checkMetricsWorkers(spec: TendSpec, where: (service: string) => string): void {
  const service = spec.services.find((s) => s.metricsWorkers !== undefined);
  if (service === undefined || spec.healthListen !== null) return;
  throw new TendError('TEND_ERR_USAGE', `${where(service.name)}: the workers' metrics are served on tend's /metrics, which needs --health-listen; add --health-listen 127.0.0.1:9000 (or health-listen:), or remove it`);
}
