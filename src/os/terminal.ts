// Terminal hand-over: in a terminal the child must be the foreground process group so ^C and ^Z reach it.
import { isatty } from 'node:tty';
import { native } from './native.js';

// The fd of the terminal to hand to the child, or -1 when tend is not the terminal's foreground group.
export function terminalToHandOver(): number {
  if (!isatty(0)) return -1;
  return native.tcgetpgrp(0) === native.getpgrp() ? 0 : -1;
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
