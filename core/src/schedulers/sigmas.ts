// Sigma-space helpers shared by the Euler and DPM-Solver schedulers (k-diffusion conventions as
// diffusers 0.24.0 ports them), in float64 like the NumPy code they reproduce.

/** Karras et al. (2022) ρ=7 schedule from sigmaMax down to sigmaMin, `n` values. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  const ramp = n === 1 ? [0] : Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : i * (1 / (n - 1))));
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * The fractional train timestep whose sigma is `sigma`: linear interpolation in log-sigma between
 * the neighbouring train steps (diffusers' `_sigma_to_t`). `logSigmas` are float32 logs, ascending.
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // Index of the last train step whose log-sigma is ≤ logSigma (0 when there is none).
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  const w = Math.min(Math.max((lo - logSigma) / (lo - hi), 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** diffusers' `_init_step_index`: the first occurrence of `timestep`, or the second when it repeats. */
export function findStepIndex(timesteps: readonly number[], timestep: number): number {
  const first = timesteps.indexOf(timestep);
  if (first < 0) return -1;
  const second = timesteps.indexOf(timestep, first + 1);
  return second >= 0 ? second : first;
}
