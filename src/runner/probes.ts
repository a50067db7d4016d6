// Readiness probes for `--ready http://…` and `tcp://…`: probe until the first success, for as long as the process's
// lifetime lasts (its exit or readiness aborts the loop).
import type { ReadyMode } from '../config/pool-config.js';
import { probeHttp, probeTcp } from '../health/probes.js';

const PROBE_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 1_000;

// Probe `mode` every 100 ms until it answers (then call `onReady` once) or `lifetime` is aborted.
export function startProbe(mode: ReadyMode, lifetime: AbortSignal, onReady: () => void): void {
  if (mode.kind !== 'http' && mode.kind !== 'tcp') return;
  const probe = mode.kind === 'http' ? () => probeHttp(mode.url, PROBE_TIMEOUT_MS) : () => probeTcp(mode.host, mode.port, PROBE_TIMEOUT_MS);
  const loop = async (): Promise<void> => {
    while (!lifetime.aborted) {
      if (await probe()) {
        if (!isAborted(lifetime)) onReady();
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, PROBE_INTERVAL_MS);
        lifetime.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  };
  void loop();
}

// Read through a call, so the check after an await is not narrowed away by the one before it.
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
