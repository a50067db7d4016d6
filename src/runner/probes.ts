// Readiness probes for `--ready http://…` and `tcp://…`: probe until the first success, for as long as the process's
// lifetime lasts (its exit or readiness ends the loop).
import type { ReadyMode } from '../config/pool-config.js';
import { probeHttp, probeTcp } from '../health/probes.js';
import type { Lifetime } from './lifetime.js';

const PROBE_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 1_000;

// Probe `mode` every 100 ms until it answers (then call `onReady` once) or `lifetime` ends.
export function startProbe(mode: ReadyMode, lifetime: Lifetime, onReady: () => void): void {
  if (mode.kind !== 'http' && mode.kind !== 'tcp') return;
  const probe = mode.kind === 'http' ? () => probeHttp(mode.url, PROBE_TIMEOUT_MS) : () => probeTcp(mode.host, mode.port, PROBE_TIMEOUT_MS);
  const loop = async (): Promise<void> => {
    while (!lifetime.ended) {
      if (await probe()) {
        if (!isEnded(lifetime)) onReady();
        return;
      }
      await new Promise<void>((resolve) => {
        // The wait's cleanup goes when the wait does: a slow starter polls for minutes, one wait every 100 ms.
        let release: () => void = () => undefined;
        const timer = setTimeout(() => { release(); resolve(); }, PROBE_INTERVAL_MS);
        release = lifetime.onEnd(() => { clearTimeout(timer); resolve(); });
      });
    }
  };
  void loop();
}

// Read through a call, so the check after an await is not narrowed away by the one before it.
function isEnded(lifetime: Lifetime): boolean {
  return lifetime.ended;
}
