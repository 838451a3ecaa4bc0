// sRGB (8-bit, D65) ↔ CIE L*a*b*, and a mean/std colour transfer between two images measured over a
// shared set of pixels (the ring around an inpainting mask).

const SRGB_TO_LINEAR = Float64Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

// sRGB primaries with D65 white (Lindbloom's matrices); the white point is the matrix rows summed.
const XN = 0.95047;
const YN = 1;
const ZN = 1.08883;
const EPS = 216 / 24389;
const KAPPA = 24389 / 27;

const f = (t: number) => (t > EPS ? Math.cbrt(t) : (KAPPA * t + 16) / 116);
const fInv = (t: number) => (t * t * t > EPS ? t * t * t : (116 * t - 16) / KAPPA);

/** L in [0, 100], a and b roughly [-128, 127]. */
export function rgbToLab(r: number, g: number, b: number, out: Float64Array | number[] = new Float64Array(3)): Float64Array | number[] {
  const lr = SRGB_TO_LINEAR[r];
  const lg = SRGB_TO_LINEAR[g];
  const lb = SRGB_TO_LINEAR[b];
  const x = (0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / XN;
  const y = (0.2126729 * lr + 0.7151522 * lg + 0.072175 * lb) / YN;
  const z = (0.0193339 * lr + 0.119192 * lg + 0.9503041 * lb) / ZN;
  const fy = f(y);
  out[0] = 116 * fy - 16;
  out[1] = 500 * (f(x) - fy);
  out[2] = 200 * (fy - f(z));
  return out;
}

// Linear values where the 8-bit sRGB code steps from k to k + 1 (the encoded value k + 0.5): finding a
// value's place among them gives round(encode(c)·255) without a power per pixel.
const STEPS = Float64Array.from({ length: 255 }, (_, k) => {
  const s = (k + 0.5) / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
});

function toByte(c: number): number {
  let lo = 0;
  let hi = 255;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c < STEPS[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Back to 8-bit sRGB, clipping out-of-gamut colours per channel. */
export function labToRgb(l: number, a: number, b: number, out: Uint8Array | number[] = new Uint8Array(3)): Uint8Array | number[] {
  const fy = (l + 16) / 116;
  const x = fInv(fy + a / 500) * XN;
  const y = (l > KAPPA * EPS ? fy * fy * fy : l / KAPPA) * YN;
  const z = fInv(fy - b / 200) * ZN;
  out[0] = toByte(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
  out[1] = toByte(-0.969266 * x + 1.8760108 * y + 0.041556 * z);
  out[2] = toByte(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
  return out;
}

export interface LabStats {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly count: number;
}

/** Lab mean and standard deviation of an RGB(A) image (channels ≥ 3) over the pixels where `where` is non-zero. */
export function labStats(data: Uint8Array, channels: number, where: Uint8Array): LabStats {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  const lab = new Float64Array(3);
  let count = 0;
  for (let i = 0; i < where.length; i++) {
    if (!where[i]) continue;
    const o = i * channels;
    rgbToLab(data[o], data[o + 1], data[o + 2], lab);
    for (let c = 0; c < 3; c++) {
      sum[c] += lab[c];
      sq[c] += lab[c] * lab[c];
    }
    count++;
  }
  if (count === 0) return { mean: [0, 0, 0], std: [0, 0, 0], count };
  const mean = sum.map((s) => s / count) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(Math.max(0, s / count - mean[c] * mean[c]))) as [number, number, number];
  return { mean, std, count };
}

/** Scale factors outside this range mean the ring is too flat or too busy to trust for contrast. */
const MIN_STD_RATIO = 0.5;
const MAX_STD_RATIO = 2;

/**
 * Reinhard-style transfer: every pixel's Lab value is moved so that `from`'s statistics become `to`'s
 * (mean shifted, spread scaled within [0.5, 2]). Returns a new RGB(A) buffer; alpha is copied, and so
 * are the pixels where `where` (one value per pixel), when given, is zero.
 */
export function transferLab(data: Uint8Array, channels: number, from: LabStats, to: LabStats, where?: Uint8Array): Uint8Array {
  const out = data.slice();
  const scale = [0, 1, 2].map((c) => {
    if (from.std[c] < 1e-6) return 1;
    return Math.min(MAX_STD_RATIO, Math.max(MIN_STD_RATIO, to.std[c] / from.std[c]));
  });
  const lab = new Float64Array(3);
  const rgb = new Uint8Array(3);
  for (let o = 0; o < data.length; o += channels) {
    if (where && !where[o / channels]) continue;
    rgbToLab(data[o], data[o + 1], data[o + 2], lab);
    labToRgb(
      (lab[0] - from.mean[0]) * scale[0] + to.mean[0],
      (lab[1] - from.mean[1]) * scale[1] + to.mean[1],
      (lab[2] - from.mean[2]) * scale[2] + to.mean[2],
      rgb,
    );
    out[o] = rgb[0];
    out[o + 1] = rgb[1];
    out[o + 2] = rgb[2];
  }
  return out;
}
