// DeepCache (Ma, Fang, Wang 2023) exactly as its reference DeepCacheSDHelper runs it on diffusers 0.24
// (tests/golden/deepcache/README.md): some UNet calls are full and cache the hidden state that enters the
// up path at a chosen skip ("branch"); the calls between run only the shallow UNet that starts from it.

export interface DeepCacheOptions {
  /** cache_interval N: a full call every N steps (1 = every call full, the same as no DeepCache). */
  interval: number;
  /** cache_branch_id: which skip connection the shallow UNet stops at (0 = the outermost, the cheapest). */
  branch: number;
  /**
   * The loop indices of the full calls, replacing the helper's uniform rule (the reference's experimental
   * pipeline with a non-uniform schedule).
   */
  fullSteps?: readonly number[];
}

/**
 * Which of the run's UNet calls are full. The helper's rule: a call's step index is the FIRST position of
 * its timestep in the schedule (so a repeated timestep, PNDM's, counts as the earlier one), and a call is
 * full iff (index − the first call's index) is a multiple of N.
 */
export function deepCacheFullCalls(timesteps: readonly number[], options: DeepCacheOptions): boolean[] {
  if (!(Number.isInteger(options.interval) && options.interval >= 1)) throw new Error(`DeepCache interval must be an integer ≥ 1, got ${options.interval}`);
  if (options.fullSteps) {
    const full = new Set(options.fullSteps);
    if (!full.has(0)) throw new Error('a DeepCache schedule must make the first call full: nothing is cached before it');
    return timesteps.map((_, i) => full.has(i));
  }
  const start = timesteps.indexOf(timesteps[0]);
  return timesteps.map((t) => (timesteps.indexOf(t) - start) % options.interval === 0);
}
