// `tend run` (one child) under a Type=notify unit: the child gets tend's own NOTIFY_SOCKET, and what it says is
// passed up to systemd from tend's pid (systemd only listens to its main pid with NotifyAccess=main). So a child
// in any language can use sd_notify unchanged while tend stays PID 1 / MAINPID.
import type { Logger } from '../log.js';
import { native } from '../os/native.js';
import type { NotifyMessage } from '../protocol/sd-notify.js';
import { formatNotify } from '../protocol/sd-notify.js';

/** Keys that mean the same coming from tend as from the child. MAINPID, FDSTORE and BARRIER do not. */
const RELAYED = new Set(['READY', 'STATUS', 'RELOADING', 'MONOTONIC_USEC', 'STOPPING', 'WATCHDOG', 'WATCHDOG_USEC', 'EXTEND_TIMEOUT_USEC', 'ERRNO', 'BUSERROR']);

// Pass one child notification up to systemd's socket at `path`; failures are logged, never thrown.
export function relayToSystemd(path: string, message: NotifyMessage, log: Logger): void {
  const fields = Object.fromEntries(message.fields.filter(([key]) => RELAYED.has(key)));
  if (Object.keys(fields).length === 0) return;
  try {
    native.dgramSend(path, formatNotify(fields));
    log.debug(`relayed to systemd: ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  } catch (error) {
    log.debug(`unable to relay to systemd at ${path}: ${(error as { code?: string }).code ?? String(error)}`);
  }
}
