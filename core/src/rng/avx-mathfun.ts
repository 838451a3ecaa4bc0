// One lane of the float32 log and sincos PyTorch's AVX2 kernels use for randn (avx_mathfun.h, after
// Julien Pommier's Cephes-based sse_mathfun): the same operations in the same order, each rounded to
// float32, so the results match torch bit for bit rather than merely closely. The AVX2 kernels are
// built with FMA enabled and GCC's default contraction, so every multiply whose only use is an add
// or subtract became one fused op; the fmaf calls below sit exactly there (the golden rng cases
// differ from an unfused evaluation in about 1 % of values and match this one in all).
const f = Math.fround;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
function fromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}

/** The float32 next to r (a nonzero finite float32) in the direction of `toward`. */
function neighbour(r: number, toward: number): number {
  const b = bits(r);
  return fromBits(toward > r === r > 0 ? b + 1 : b - 1);
}

/** float32 a·b + c with a single rounding, as the FMA unit computes it. */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: two float32 significands fit in a double
  const s = p + c;
  const r = f(s);
  if (r === s || r === 0) return r;
  // s was rounded once already; that only misleads the float32 rounding when s lands exactly on a
  // float32 tie, where the bits lost from p + c decide the direction.
  const other = neighbour(r, s);
  if (Math.abs(s - r) !== Math.abs(other - s)) return r;
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  return err > 0 === other > r ? other : r;
}

const SQRTHF = f(0.707106781186547524);
const LOG_P = [7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f);
const LOG_Q1 = f(-2.12194440e-4);
const LOG_Q2 = f(0.693359375);
const MIN_NORM_POS = fromBits(0x00800000);

/** Natural log of a positive float32 as log256_ps computes it (NaN for x ≤ 0). */
export function logf(x0: number): number {
  if (!(x0 > 0)) return Number.NaN;
  const x1 = Math.max(x0, MIN_NORM_POS);
  const b = bits(x1);
  let e = f((b >>> 23) - 127 + 1);
  let x = fromBits((b & ~0x7f800000) | bits(0.5));
  const small = x < SQRTHF;
  const tmp0 = small ? x : 0;
  x = f(x - 1);
  if (small) e = f(e - 1);
  x = f(x + tmp0);
  const z = f(x * x);
  let y = LOG_P[0]!;
  for (let k = 1; k < LOG_P.length; k++) y = fmaf(y, x, LOG_P[k]!);
  y = f(y * x);
  y = fmaf(y, z, f(e * LOG_Q1));
  y = fmaf(-z, 0.5, y);
  return fmaf(e, LOG_Q2, f(x + y));
}

const FOPI = f(1.27323954473516);
const DP1 = f(-0.78515625);
const DP2 = f(-2.4187564849853515625e-4);
const DP3 = f(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f);

/** [sin, cos] of a float32 as sincos256_ps computes them, written into `out` (hot loops reuse one). */
export function sincosf(x0: number, out: [number, number] = [0, 0]): [number, number] {
  const negative = x0 < 0 || Object.is(x0, -0);
  let x = Math.abs(x0);
  // cvttps truncates toward zero; arguments here are far below 2^31.
  let j = Math.trunc(f(x * FOPI));
  j = (j + 1) & ~1;
  const y = f(j);
  const sinSwap = (j & 4) !== 0;
  const useSinPoly = (j & 2) === 0;
  const cosSwap = ((j - 2) & 4) === 0;

  x = fmaf(y, DP1, x);
  x = fmaf(y, DP2, x);
  x = fmaf(y, DP3, x);

  const z = f(x * x);
  let c = COS_P[0]!;
  c = fmaf(c, z, COS_P[1]!);
  c = fmaf(c, z, COS_P[2]!);
  c = f(c * z);
  c = fmaf(c, z, -f(z * 0.5));
  c = f(c + 1);

  let s = SIN_P[0]!;
  s = fmaf(s, z, SIN_P[1]!);
  s = fmaf(s, z, SIN_P[2]!);
  s = f(s * z);
  s = fmaf(s, x, x);

  let sin = useSinPoly ? s : c;
  let cos = useSinPoly ? c : s;
  if (negative !== sinSwap) sin = -sin;
  if (cosSwap) cos = -cos;
  out[0] = sin;
  out[1] = cos;
  return out;
}
