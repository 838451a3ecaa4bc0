// ComfyUI's uni_pc (comfy/extra_samplers/uni_pc.py: sample_unipc, variant bh1): UniPC multistep with
// data prediction in the VP parametrisation, order min(3, steps − 1), lower order at the end, a corrector
// on every step but the last. The schedule's final 0 becomes 0.001 (ComfyUI overwrites it in place), and
// the result is divided by α(0.001). Each model call is one denoiser call at the k-diffusion x = x_vp·√(σ²+1).
import type { SamplerLoop } from './samplers.js';

const f = Math.fround;

/** ComfyUI's SigmaConvert: the VP quantities of a k-diffusion σ, in float32. */
const logMean = (s: number): number => f(0.5 * f(Math.log(f(1 / f(f(s * s) + 1)))));
const alpha = (s: number): number => f(Math.exp(logMean(s)));
const std = (s: number): number => f(Math.sqrt(f(1 - f(Math.exp(f(2 * logMean(s)))))));
const lambda = (s: number): number => f(logMean(s) - f(0.5 * f(Math.log(f(1 - f(Math.exp(f(2 * logMean(s)))))))));

/** Gaussian elimination with partial pivoting in float64 (torch.linalg.solve on at most 3×3). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row.slice(0, n), b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const k = m[r][c] / m[c][c];
      for (let j = c; j <= n; j++) m[r][j] -= k * m[c][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let j = r + 1; j < n; j++) s -= m[r][j] * x[j];
    x[r] = s / m[r][r];
  }
  return x.map(f);
}

/** Σ_k rho_k · D_k in float32. */
function combination(ds: Float32Array[], rhos: number[]): Float32Array {
  const out = new Float32Array(ds[0].length);
  ds.forEach((d, k) => {
    for (let i = 0; i < out.length; i++) out[i] = out[i] + f(d[i] * rhos[k]);
  });
  return out;
}

export function* uniPc(x: Float32Array, sigmas: readonly number[]): SamplerLoop {
  const ts = [...sigmas];
  if (ts[ts.length - 1] === 0) ts[ts.length - 1] = f(0.001);
  const steps = ts.length - 1;
  const order = Math.min(3, ts.length - 2);

  /** data_prediction_fn: eps from the denoiser at x_vp·√(σ²+1), then x0 = (x_vp − σ_t·eps)/α_t. */
  function* model(xv: Float32Array, s: number): Generator<{ x: Float32Array; sigma: number }, Float32Array, Float32Array> {
    const scale = f(Math.sqrt(f(f(s * s) + 1)));
    const input = xv.map((v) => v * scale);
    const denoised = yield { x: input, sigma: s };
    const st = std(s);
    const at = alpha(s);
    return input.map((v, i) => f(xv[i] - f(st * f(f(v - denoised[i]) / s))) / at);
  }

  function* update(xv: Float32Array, models: Float32Array[], times: number[], t: number, stepOrder: number, useCorrector: boolean): Generator<{ x: Float32Array; sigma: number }, [Float32Array, Float32Array | null], Float32Array> {
    const last = models.length - 1;
    const tPrev = times[last];
    const mPrev = models[last];
    const lambdaPrev = lambda(tPrev);
    const h = f(lambda(t) - lambdaPrev);
    const rks: number[] = [];
    const d1s: Float32Array[] = [];
    for (let i = 1; i < stepOrder; i++) {
      const rk = f(f(lambda(times[last - i]) - lambdaPrev) / h);
      rks.push(rk);
      d1s.push(models[last - i].map((v, k) => f(v - mPrev[k]) / rk));
    }
    rks.push(1);
    const hh = -h;
    const hPhi1 = f(Math.expm1(hh));
    const bH = hh; // bh1
    // The b coefficients in float64 (ComfyUI: near-cancelling for small h), then float32.
    const r: number[][] = [];
    const b: number[] = [];
    let hPhiK = Math.expm1(hh) / hh - 1;
    let factorial = 1;
    for (let i = 1; i <= stepOrder; i++) {
      r.push(rks.map((rk) => f(rk ** (i - 1))));
      b.push(f((hPhiK * factorial) / bH));
      factorial *= i + 1;
      hPhiK = hPhiK / hh - 1 / factorial;
    }
    const at = f(Math.exp(logMean(t)));
    const ratio = f(std(t) / std(tPrev));
    const prevCoef = f(at * hPhi1);
    const resCoef = f(at * bH);
    const base = xv.map((v, i) => f(ratio * v) - f(prevCoef * mPrev[i]));
    let predRes: Float32Array | null = null;
    if (d1s.length > 0) {
      const rhosP = stepOrder === 2 ? [0.5] : solve(r.slice(0, -1).map((row) => row.slice(0, -1)), b.slice(0, -1));
      predRes = combination(d1s, rhosP);
    }
    let xt = predRes ? base.map((v, i) => v - f(resCoef * predRes![i])) : base.map((v) => v - f(resCoef * 0));
    if (!useCorrector) return [xt, null];
    const modelT = yield* model(xt, t);
    const rhosC = stepOrder === 1 ? [0.5] : solve(r, b);
    const corrRes = d1s.length > 0 ? combination(d1s, rhosC.slice(0, -1)) : null;
    const cLast = rhosC[rhosC.length - 1];
    xt = base.map((v, i) => v - f(resCoef * f((corrRes ? corrRes[i] : 0) + f(cLast * f(modelT[i] - mPrev[i])))));
    return [xt, modelT];
  }

  let xv: Float32Array = x.map((v) => v / f(Math.sqrt(f(1 + f(ts[0] * ts[0])))));
  const models: Float32Array[] = [];
  const times: number[] = [];
  for (let stepIndex = 0; stepIndex < steps; stepIndex++) {
    if (stepIndex === 0) {
      models.push(yield* model(xv, ts[0]));
      times.push(ts[0]);
    } else if (stepIndex < order) {
      const t = ts[stepIndex];
      const [next, modelX] = yield* update(xv, models, times, t, stepIndex, true);
      xv = next;
      models.push(modelX ?? (yield* model(xv, t)));
      times.push(t);
    } else {
      // The last step index also takes the final update to 0.001, without a corrector or a model call.
      const through = stepIndex === steps - 1 ? stepIndex + 1 : stepIndex;
      for (let step = stepIndex; step <= through; step++) {
        const t = ts[step];
        const [next, modelX] = yield* update(xv, models, times, t, Math.min(order, steps + 1 - step), step !== steps);
        xv = next;
        for (let i = 0; i < order - 1; i++) {
          times[i] = times[i + 1];
          models[i] = models[i + 1];
        }
        times[order - 1] = t;
        if (step < steps) models[order - 1] = modelX ?? (yield* model(xv, t));
      }
    }
  }
  const end = alpha(ts[ts.length - 1]);
  return xv.map((v) => v / end);
}
