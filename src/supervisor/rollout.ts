// Rolling reload as an orchestrator: replace slots a batch at a time (the surge), each replacement ready before its
// old worker is stopped; the first failure stops the rollout and every slot not yet replaced keeps its old worker.

/** The outcome of replacing one slot, or of a whole rollout. */
export interface ReplaceResult {
  readonly ok: boolean;
  readonly detail: string;
}

// Replace `slots` in order, `surge` at a time, with `replace`; stops at the first failed batch.
export async function rollOut(slots: readonly number[], surge: number, replace: (slot: number) => Promise<ReplaceResult>): Promise<ReplaceResult> {
  let replaced = 0;
  for (let start = 0; start < slots.length; start += surge) {
    const batch = slots.slice(start, start + surge);
    const results = await Promise.all(batch.map((slot) => replace(slot)));
    const failed = results.filter((r) => !r.ok);
    replaced += results.length - failed.length;
    if (failed.length > 0) {
      const kept = slots.length - replaced;
      return { ok: false, detail: `${failed.map((f) => f.detail).join('; ')} (${replaced} of ${slots.length} replaced, ${kept} old worker(s) kept)` };
    }
  }
  return { ok: true, detail: `${replaced} of ${slots.length} replaced` };
}
