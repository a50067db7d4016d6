// Terminal hand-over: in a terminal the child must be the foreground process group so ^C and ^Z reach it.
import { isNativeError, native } from './native.js';

// The fd of the terminal to hand to the child, or -1 when tend is not the terminal's foreground group.
export function terminalToHandOver(): number {
  // tcgetpgrp answers -1 for anything but our controlling terminal, so it also stands in for isatty: node:tty
  // would load net and the stream modules (~1.5 MiB) into every start-up.
  let foreground: number;
  try {
    foreground = native.tcgetpgrp(0);
  } catch (error) {
    if (isNativeError(error) && error.code === 'EBADF') return -1; // no stdin at all
    throw error;
  }
  return foreground === native.getpgrp() ? 0 : -1;
}

// Take the terminal back after the child is gone, so tend's own last writes cannot be stopped by SIGTTOU.
export function reclaimTerminal(fd: number): void {
  if (fd < 0) return;
  try {
    native.tcsetpgrp(fd, native.getpgrp());
  } catch {
    // The terminal went away (hang-up): nothing to reclaim.
  }
}
