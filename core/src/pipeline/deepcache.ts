// DeepCache (Ma, Fang, Wang 2023) exactly as its reference DeepCacheSDHelper runs it on diffusers 0.24
// (tests/golden/deepcache/README.md): some UNet calls are full and cache the hidden state that enters the
// up path at a chosen skip ("branch"); the calls between run only the shallow UNet that starts from it.

export interface DeepCacheOptions {
  /** cache_interval N: a full call every N steps (1 = every call full, the same as no DeepCache). */
  interval: number;
  /** cache_branch_id: which skip connection the shallow UNet stops at (0 = the outermost, the cheapest). */
  branch: number;
  /**
   * The reference's experimental pipeline with uniform=False: full calls crowd around step `center` along a
   * power-`pow` curve (nonUniformFullSteps) instead of the helper's every N-th call.
   */
  nonUniform?: { center: number; pow: number };
}

/**
 * Which of the run's UNet calls are full. The helper's rule: a call's step index is the FIRST position of
 * its timestep in the schedule (so a repeated timestep, PNDM's, counts as the earlier one), and a call is
 * full iff (index − the first call's index) is a multiple of N.
 */
export function deepCacheFullCalls(timesteps: readonly number[], options: DeepCacheOptions): boolean[] {
  if (!(Number.isInteger(options.interval) && options.interval >= 1)) throw new Error(`DeepCache interval must be an integer ≥ 1, got ${options.interval}`);
  if (options.nonUniform) {
    // Over the loop index, as that pipeline counts.
    const full = new Set(nonUniformFullSteps(timesteps.length, options.interval, options.nonUniform.center, options.nonUniform.pow));
    return timesteps.map((_, i) => full.has(i));
  }
  const start = timesteps.indexOf(timesteps[0]);
  return timesteps.map((t) => (timesteps.indexOf(t) - start) % options.interval === 0);
}

/** glibc's clog real part (log|x|), with its log1p branches near |x| = 1 (cpow = cexp(p·clog x) there). */
function logAbs(re: number, im: number): number {
  let x = Math.abs(re);
  let y = Math.abs(im);
  if (x < y) [x, y] = [y, x];
  if (x === 1) return Math.log1p(y * y) / 2;
  if (x > 1 && x < 2 && y < 1) return Math.log1p((x - 1) * (x + 1) + (y >= Number.EPSILON ? y * y : 0)) / 2;
  if (x < 1 && x >= 0.5 && (y < Number.EPSILON / 2 || x * x + y * y >= 0.5)) return Math.log1p((x - 1) * (x + 1) + y * y) / 2;
  return Math.log(Math.hypot(x, y));
}

/** Real part of the principal power (re + i·im)^p, as numpy's complex power (glibc cpow = cexp(p·clog z)). */
function powReal(re: number, im: number, p: number): number {
  return Math.exp(p * logAbs(re, im)) * Math.cos(p * Math.atan2(im, re));
}

/** Python's v ** (1/p): real for v ≥ 0, else the principal complex root |v|^(1/p)·e^(iπ/p). */
function root(v: number, p: number): [number, number] {
  if (v >= 0) return [Math.pow(v, 1 / p), 0];
  const len = Math.pow(-v, 1 / p);
  const phase = Math.PI * (1 / p);
  return [len * Math.cos(phase), len * Math.sin(phase)];
}

/**
 * The reference's non-uniform schedule (DeepCache sd/pipeline_stable_diffusion.py sample_from_quad_center,
 * called with N_slow = ceil(n / interval)): full steps crowd around `center`, following a power `pow` curve
 * through a complex linspace; `pow` drops by 0.02 until the curve gives N_slow distinct steps.
 */
export function nonUniformFullSteps(steps: number, interval: number, center: number, pow: number): number[] {
  const slow = Math.ceil(steps / interval);
  for (let p = pow; p > 1; p -= 0.02) {
    const [ar, ai] = root(-center, p);
    const [br, bi] = root(steps - center, p);
    // numpy.linspace(a, b, slow + 1): i·step + a with step = (b − a)·(1/div), the last point exactly b.
    const scale = 1 / slow;
    const [sr, si] = [(br - ar) * scale, (bi - ai) * scale];
    const values = new Set<number>();
    for (let i = 0; i <= slow; i++) {
      const [re, im] = i === slow ? [br, bi] : [i * sr + ar, i * si + ai];
      values.add(Math.trunc(powReal(re, im, p)));
    }
    const sorted = [...values].sort((x, y) => x - y);
    const idx = [0, ...sorted.slice(1, -1).map((u) => u + center)];
    if (idx.length === slow) return idx.sort((x, y) => x - y);
  }
  throw new Error(`DeepCache's non-uniform schedule finds no power for ${steps} steps, interval ${interval}, center ${center}: decrease center or the interval`);
}
