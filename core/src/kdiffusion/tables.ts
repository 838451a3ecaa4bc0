// The discrete sigma tables of an SD1.x eps model as each tool builds them, and the two ways they map a
// sigma to the UNet's timestep: A1111 (k-diffusion's DiscreteSchedule) in float32 with a continuous,
// log-interpolated t; ComfyUI (ModelSamplingDiscrete) in float64 cast to float32, with the NEAREST integer t.
const f = Math.fround;

export const TOOLS = ['a1111', 'comfyui'] as const;
export type Tool = (typeof TOOLS)[number];

export interface SigmaTable {
  tool: Tool;
  /** Ascending, [numTrainTimesteps], float32 values. */
  sigmas: Float32Array;
  logSigmas: Float32Array;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  /** What the UNet receives as its timestep for `sigma`. */
  sigmaToT(sigma: number): number;
  /** Log-linear interpolation of the table at a fractional t. */
  tToSigma(t: number): number;
}

/** SD1.x's "scaled linear" betas: linspace(√0.00085, √0.012, 1000)² and their cumulative product, in float64. */
function alphasCumprod64(linspace: (a: number, b: number, n: number) => number[]): number[] {
  const betas = linspace(Math.sqrt(0.00085), Math.sqrt(0.012), 1000).map((b) => b * b);
  const out: number[] = [];
  let acc = 1;
  for (const b of betas) out.push((acc *= 1 - b));
  return out;
}

/** torch.linspace in float64 (first half from the start, second half back from the end). */
function torchLinspace64(a: number, b: number, n: number): number[] {
  const step = (b - a) / (n - 1);
  const half = Math.floor(n / 2);
  return Array.from({ length: n }, (_, i) => (i < half ? a + step * i : b - step * (n - i - 1)));
}

/** np.linspace in float64. */
function numpyLinspace64(a: number, b: number, n: number): number[] {
  const step = (b - a) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : i * step + a));
}

function interpolate(logSigmas: Float32Array, t: number, exact: (x: number) => number): number {
  const low = Math.floor(t);
  const high = Math.ceil(t);
  const w = exact(t - low);
  return exact(Math.exp(exact(exact(exact(1 - w) * logSigmas[low]) + exact(w * logSigmas[high]))));
}

/** CompVisDenoiser's table: ((1 − ᾱ)/ᾱ)^½ in float32 from the LDM's float32 ᾱ, log in float32. */
export function a1111SigmaTable(): SigmaTable {
  const ac = Float32Array.from(alphasCumprod64(numpyLinspace64));
  const sigmas = ac.map((a) => Math.sqrt(f(f(1 - a) / a)));
  const logSigmas = sigmas.map((s) => Math.log(s));
  const last = sigmas.length - 1;
  return {
    tool: 'a1111',
    sigmas,
    logSigmas,
    sigmaMin: sigmas[0],
    sigmaMax: sigmas[last],
    sigmaToT(sigma) {
      const logSigma = f(Math.log(sigma));
      // dists.ge(0).cumsum().argmax(): the last index whose log-sigma is ≤ log σ (0 when none), at most 998.
      let low = 0;
      for (let i = 0; i < logSigmas.length; i++) if (f(logSigma - logSigmas[i]) >= 0) low = i;
      low = Math.min(low, last - 1);
      const lo = logSigmas[low];
      const hi = logSigmas[low + 1];
      const w = Math.min(Math.max(f(f(lo - logSigma) / f(lo - hi)), 0), 1);
      return f(f(f(1 - w) * low) + f(w * (low + 1)));
    },
    tToSigma: (t) => interpolate(logSigmas, f(t), f),
  };
}

/** ModelSamplingDiscrete's table: everything in float64, then cast to float32. */
export function comfySigmaTable(): SigmaTable {
  const sigmas64 = alphasCumprod64(torchLinspace64).map((a) => Math.sqrt((1 - a) / a));
  const sigmas = Float32Array.from(sigmas64);
  const logSigmas = Float32Array.from(sigmas64.map((s) => Math.log(s)));
  const last = sigmas.length - 1;
  return {
    tool: 'comfyui',
    sigmas,
    logSigmas,
    sigmaMin: sigmas[0],
    sigmaMax: sigmas[last],
    sigmaToT(sigma) {
      const logSigma = f(Math.log(sigma));
      let best = 0;
      let bestDist = Infinity;
      for (let i = 0; i < logSigmas.length; i++) {
        const d = Math.abs(f(logSigma - logSigmas[i]));
        if (d < bestDist) {
          bestDist = d;
          best = i;
        }
      }
      return best;
    },
    tToSigma: (t) => interpolate(logSigmas, Math.min(Math.max(f(t), 0), last), f),
  };
}

const tables = new Map<Tool, SigmaTable>();

/** The tool's table for SD1.x (built once). */
export function sigmaTable(tool: Tool): SigmaTable {
  let table = tables.get(tool);
  if (!table) tables.set(tool, (table = tool === 'a1111' ? a1111SigmaTable() : comfySigmaTable()));
  return table;
}
