// One lane of SLEEF's float32 functions with 1-ulp bounds (Sleef_acosf8_u10, Sleef_sinf8_u10,
// Sleef_logf8_u10, Sleef_expf8_u10, Sleef_expm1f8_u10), which PyTorch's Vectorized<float> calls on x86
// CPUs for torch.acos / sin / log / exp / expm1, 0-dim tensors included: the same operations in the same
// order, each rounded to float32, so A1111's slerp and the k-diffusion samplers' σ arithmetic come out bit
// for bit. Algorithms from shibatch/sleef src/libm/sleefsimdsp.c (xacosf_u1, xsinf_u1, xlogf_u1, xexpf,
// xexpm1f/expk2f) and df.h (the double-float helpers in
// their ENABLE_FMA_SP form: the AVX2 build has FMA, and SLEEF is compiled with -ffp-contract=off, so
// only the explicit vmla/vfma calls fuse). sin covers |x| < 125, the only range slerp reaches (angles in
// [0, π]); beyond it SLEEF switches to a Payne-Hanek reduction that is not ported.
import { fmaf } from './avx-mathfun.js';

const f = Math.fround;

/** A double-float: value = hi + lo with |lo| ≤ ulp(hi)/2 (SLEEF's vfloat2). */
type Df = readonly [hi: number, lo: number];

// x·y − z and z − x·y with one rounding (SLEEF's vfmapn / vfmanp).
const fmapn = (x: number, y: number, z: number): number => fmaf(x, y, -z);
const fmanp = (x: number, y: number, z: number): number => fmaf(-x, y, z);

function addFF(x: number, y: number): Df {
  const hi = f(x + y);
  return [hi, f(f(x - hi) + y)];
}

function add2FF(x: number, y: number): Df {
  const hi = f(x + y);
  const v = f(hi - x);
  return [hi, f(f(x - f(hi - v)) + f(y - v))];
}

function add2FD(x: number, y: Df): Df {
  const hi = f(x + y[0]);
  const v = f(hi - x);
  return [hi, f(f(f(x - f(hi - v)) + f(y[0] - v)) + y[1])];
}

function addDF(x: Df, y: number): Df {
  const hi = f(x[0] + y);
  return [hi, f(f(f(x[0] - hi) + y) + x[1])];
}

function add2DF(x: Df, y: number): Df {
  const hi = f(x[0] + y);
  const v = f(hi - x[0]);
  return [hi, f(f(f(x[0] - f(hi - v)) + f(y - v)) + x[1])];
}

function add2DD(x: Df, y: Df): Df {
  const hi = f(x[0] + y[0]);
  const v = f(hi - x[0]);
  return [hi, f(f(f(x[0] - f(hi - v)) + f(y[0] - v)) + f(x[1] + y[1]))];
}

function addDD(x: Df, y: Df): Df {
  const hi = f(x[0] + y[0]);
  return [hi, f(f(f(f(x[0] - hi) + y[0]) + x[1]) + y[1])];
}

function addFD(x: number, y: Df): Df {
  const hi = f(x + y[0]);
  return [hi, f(f(f(x - hi) + y[0]) + y[1])];
}

function subDD(x: Df, y: Df): Df {
  const hi = f(x[0] - y[0]);
  return [hi, f(f(f(f(x[0] - hi) - y[0]) + x[1]) - y[1])];
}

function mulFF(x: number, y: number): Df {
  const hi = f(x * y);
  return [hi, fmapn(x, y, hi)];
}

function mulDD(x: Df, y: Df): Df {
  const hi = f(x[0] * y[0]);
  return [hi, fmaf(x[0], y[1], fmaf(x[1], y[0], fmapn(x[0], y[0], hi)))];
}

function mulDF(x: Df, y: number): Df {
  const hi = f(x[0] * y);
  return [hi, fmaf(x[1], y, fmapn(x[0], y, hi))];
}

function divDD(n: Df, d: Df): Df {
  const t = f(1 / d[0]);
  const hi = f(n[0] * t);
  const u = fmapn(t, n[0], hi);
  const lo = fmanp(d[1], t, fmanp(d[0], t, 1));
  return [hi, fmaf(hi, lo, fmaf(n[1], t, u))];
}

function mulDDtoF(x: Df, y: Df): number {
  return fmaf(x[0], y[0], fmaf(x[1], y[0], f(x[0] * y[1])));
}

function squD(x: Df): Df {
  const hi = f(x[0] * x[0]);
  return [hi, fmaf(f(x[0] + x[0]), x[1], fmapn(x[0], x[0], hi))];
}

function recF(d: number): Df {
  const hi = f(1 / d);
  return [hi, f(hi * fmanp(d, hi, 1))];
}

function scale(x: Df, s: number): Df {
  return [f(x[0] * s), f(x[1] * s)];
}

function sqrtF(d: number): Df {
  const t = f(Math.sqrt(d));
  return scale(mulDD(add2FD(d, mulFF(t, t)), recF(t)), 0.5);
}

const mulSign = (x: number, sign: number): number => (sign < 0 || Object.is(sign, -0) ? -x : x);

const PI: Df = [f(3.1415927410125732422), f(-8.7422776573475857731e-8)];
const HALF_PI: Df = [f(3.1415927410125732422) / 2, f(-8.7422776573475857731e-8) / 2];
const ACOS_P = [0.4197454825e-1, 0.2424046025e-1, 0.4547423869e-1, 0.7495029271e-1, 0.1666677296e0].map(f);

/** acos of a float32 as Sleef_acosf8_u10 computes it. */
export function acosf(d: number): number {
  const a = Math.abs(d);
  const small = a < 0.5;
  const x2 = small ? f(d * d) : f(f(1 - a) * 0.5);
  let x: Df = small ? [a, 0] : sqrtF(x2);
  if (a === 1) x = [0, 0];
  let u = ACOS_P[0]!;
  for (let k = 1; k < ACOS_P.length; k++) u = fmaf(u, x2, ACOS_P[k]!);
  u = f(u * f(x2 * x[0]));
  let y = subDD(HALF_PI, addFF(mulSign(x[0], d), mulSign(u, d)));
  if (!small) y = scale(addDF(x, u), 2);
  if (!small && d < 0) y = subDD(PI, y);
  return f(y[0] + y[1]);
}

const ONE_OVER_PI = f(1 / Math.PI);
const PI_A2 = f(3.1414794921875);
const PI_B2 = f(0.00011315941810607910156);
const PI_C2 = f(1.9841872589410058936e-9);
const SIN_P = [2.6083159809786593541503e-6, -0.0001981069071916863322258, 0.00833307858556509017944336].map(f);
const SIN_C1 = f(-0.166666597127914428710938);
/** SLEEF's TRIGRANGEMAX2f: the Cody-Waite reduction below is exact up to here. */
export const SINF_MAX_ARGUMENT = 125;

/** sin of a float32 with |d| < 125 as Sleef_sinf8_u10 computes it. */
export function sinf(d: number): number {
  if (!(Math.abs(d) < SINF_MAX_ARGUMENT)) throw new RangeError(`sinf: |${d}| is outside SLEEF's short reduction range (< ${SINF_MAX_ARGUMENT})`);
  // _mm256_round_ps(nearest) ties to even.
  const u0 = roundHalfEven(f(d * ONE_OVER_PI));
  const v = fmaf(u0, -PI_A2, d);
  let s = add2FF(v, f(u0 * -PI_B2));
  s = addDF(s, f(u0 * -PI_C2));
  const t = s;
  s = squD(s);
  let u = SIN_P[0]!;
  u = fmaf(u, s[0], SIN_P[1]!);
  u = fmaf(u, s[0], SIN_P[2]!);
  const x = addFD(1, mulDD(addFF(SIN_C1, f(u * s[0])), s));
  let r = mulDDtoF(t, x);
  if (u0 % 2 !== 0) r = -r;
  return Object.is(d, -0) ? d : r;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const R_LN2 = f(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2U = f(0.693145751953125);
const L2L = f(1.428606765330187045e-6);

/** x·2^q for a float32 x (SLEEF's vldexp2: two power-of-two steps, exact while the result stays normal). */
function ldexp(x: number, q: number): number {
  const half = q >> 1;
  return f(f(x * 2 ** half) * 2 ** (q - half));
}

const EXP_P = [0.000198527617612853646278381, 0.00139304355252534151077271, 0.00833336077630519866943359, 0.0416664853692054748535156, 0.166666671633720397949219, 0.5].map(f);

/** exp of a float32 as Sleef_expf8_u10 computes it. */
export function expf(d: number): number {
  if (d < -104) return 0;
  if (d > 100) return Number.POSITIVE_INFINITY;
  const q = roundHalfEven(f(d * R_LN2));
  let s = fmaf(q, -L2U, d);
  s = fmaf(q, -L2L, s);
  let u = EXP_P[0]!;
  for (let k = 1; k < EXP_P.length; k++) u = fmaf(u, s, EXP_P[k]!);
  u = f(1 + fmaf(f(s * s), u, s));
  return ldexp(u, q);
}

const EXPK2_P = [0.1980960224e-3, 0.1394256484e-2, 0.8333456703e-2, 0.4166637361e-1].map(f);

/** e^d as a double-float (SLEEF's expk2f). */
function expk2(d: Df): Df {
  const q = roundHalfEven(f(f(d[0] + d[1]) * R_LN2));
  let s = add2DF(d, f(q * -L2U));
  s = add2DF(s, f(q * -L2L));
  let u = EXPK2_P[0]!;
  for (let k = 1; k < EXPK2_P.length; k++) u = fmaf(u, s[0], EXPK2_P[k]!);
  let t = add2DF(mulDF(s, u), f(0.166666659414234244790680580464));
  t = add2DF(mulDD(s, t), 0.5);
  t = add2DD(s, mulDD(squD(s), t));
  t = addFD(1, t);
  if (d[0] < -104) return [0, 0];
  return [ldexp(t[0], q), ldexp(t[1], q)];
}

/** e^d − 1 of a float32 as Sleef_expm1f8_u10 computes it. */
export function expm1f(a: number): number {
  if (Object.is(a, -0)) return -0;
  if (a > 88.72283172607421875) return Number.POSITIVE_INFINITY;
  if (a < -16.635532333438687426013570) return -1;
  const d = add2DF(expk2([a, 0]), -1);
  return f(d[0] + d[1]);
}

const LN2: Df = [f(0.69314718246459960938), f(-1.904654323148236017e-9)];
const LOG_P = [0.3027294874e0, 0.3996108174e0, 0.666669488e0].map(f);
const FOUR_THIRDS = f(1 / 0.75);

/** Natural log of a positive normal float32 as Sleef_logf8_u10 computes it. */
export function logf(d: number): number {
  if (d === 0) return Number.NEGATIVE_INFINITY;
  if (!(d >= 1.1754943508222875e-38) || d === Number.POSITIVE_INFINITY) {
    if (d === Number.POSITIVE_INFINITY) return d;
    if (d > 0) throw new RangeError(`logf: subnormal ${d} is not supported`);
    return Number.NaN;
  }
  // vilogb2k: the binary exponent of d·(1/0.75), so the mantissa m lands in [0.75, 1.5).
  const e = binaryExponent(f(d * FOUR_THIRDS));
  const m = f(d * 2 ** -e);
  let s = mulDF(LN2, e);
  const x = divDD(add2FF(-1, m), add2FF(1, m));
  const x2 = f(x[0] * x[0]);
  let t = LOG_P[0]!;
  t = fmaf(t, x2, LOG_P[1]!);
  t = fmaf(t, x2, LOG_P[2]!);
  s = addDD(s, scale(x, 2));
  s = addDF(s, f(f(x2 * x[0]) * t));
  return f(s[0] + s[1]);
}

const exponentView = new Float32Array(1);
const exponentBits = new Uint32Array(exponentView.buffer);
function binaryExponent(x: number): number {
  exponentView[0] = x;
  return ((exponentBits[0]! >>> 23) & 0xff) - 127;
}
