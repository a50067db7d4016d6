// A lifetime owns what must stop when something ends (a process, a service, tend itself): its timers, probes,
// samplers and child lifetimes register a cleanup, and ending the lifetime runs them. tend's own small type rather
// than AbortController, whose Node module (and what it pulls in) would be loaded on every `tend run` for nothing.

/** One registration: its own object, so the same function registered twice is two registrations. */
interface Entry {
  readonly fn: () => void;
}

/** Something timers, probes, samplers and child lifetimes belong to; ending it clears them all, once. */
export class Lifetime {
  /** The cleanups waiting for the end, in registration order; null once ended. */
  private entries: Set<Entry> | null = new Set();

  /** Whether it has ended: check it before `onEnd`, which registers nothing on an ended lifetime. */
  get ended(): boolean {
    return this.entries === null;
  }

  /** How many cleanups wait for the end: for tests and leak checks (a long-lived owner must not grow). */
  get pending(): number {
    return this.entries?.size ?? 0;
  }

  // Run `fn` once when this lifetime ends; the returned release removes it (calling it again, or after the end, does
  // nothing). On an ended lifetime nothing is registered and the release is a no-op, as for addEventListener on an
  // aborted AbortSignal: callers check `ended` first.
  onEnd(fn: () => void): () => void {
    const entries = this.entries;
    if (entries === null) return noop;
    const entry: Entry = { fn };
    entries.add(entry);
    return () => { entries.delete(entry); };
  }

  // End it: run every registered cleanup once, in registration order, and drop them; later calls do nothing. A cleanup
  // released by an earlier one during the end does not run. A cleanup that throws does not stop the others: after
  // all have run, the first error is rethrown to the caller of end() (a cleanup is tend's own code, so a throw is a
  // bug, and it surfaces where the end was asked for rather than later as an uncaught exception).
  end(): void {
    const entries = this.entries;
    if (entries === null) return;
    this.entries = null;
    let failure: { readonly error: unknown } | null = null;
    for (const entry of entries) {
      entries.delete(entry);
      try {
        entry.fn();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== null) throw failure.error;
  }

  // A lifetime that ends when this one ends (or at once, if this one has ended). Its own end releases its registration
  // here, so a long-lived parent does not keep one cleanup per child it ever made.
  child(): Lifetime {
    const child = new Lifetime();
    if (this.entries === null) {
      child.end();
      return child;
    }
    child.onEnd(this.onEnd(() => { child.end(); }));
    return child;
  }
}

function noop(): void {
  // Nothing was registered, so there is nothing to release.
}
