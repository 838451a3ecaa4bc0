// One lane of SLEEF's float32 acos and sin with 1-ulp bounds (Sleef_acosf8_u10, Sleef_sinf8_u10), which
// PyTorch's Vectorized<float>::acos / ::sin call on x86 CPUs: the same operations in the same order, each
// rounded to float32, so A1111's slerp (torch.acos, torch.sin) comes out bit for bit. Algorithms from
// shibatch/sleef src/libm/sleefsimdsp.c (xacosf_u1, xsinf_u1) and df.h (the double-float helpers in
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
