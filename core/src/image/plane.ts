// Single-channel float planes and the two filters masks and pre-fill need: an exact Euclidean distance
// transform (grow, feather and nearest-pixel fill are functions of it) and a Gaussian-like blur as three
// box passes. Written here rather than taken from a library because they work on float planes of any
// size without canvas or native code.

export interface Plane {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function plane(width: number, height: number, data?: Float32Array): Plane {
  const d = data ?? new Float32Array(width * height);
  if (d.length !== width * height) throw new Error(`plane data has ${d.length} values, ${width}×${height} needs ${width * height}`);
  return { width, height, data: d };
}

const INF = 1e20;

/** Squared distance to the lower envelope of parabolas (Felzenszwalb & Huttenlocher 2012), one line. */
function edt1d(f: Float64Array, n: number, d: Float64Array, arg: Int32Array | undefined, fArg: Int32Array | undefined, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1; q < n; q++) {
    if (f[q] >= INF) continue;
    if (f[v[0]] >= INF) {
      v[0] = q;
      continue;
    }
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const p = v[k];
    d[q] = f[p] >= INF ? INF : (q - p) * (q - p) + f[p];
    if (arg && fArg) arg[q] = fArg[p];
  }
}

export interface DistanceField {
  /** Euclidean distance to the nearest seed pixel (0 on seeds, Infinity when there is none). */
  readonly distance: Float32Array;
  /** Index (y·width + x) of that nearest seed, -1 when there is none; only when asked for. */
  readonly nearest?: Int32Array;
}

/** Exact Euclidean distance from every pixel to the nearest pixel where `seed` is non-zero. */
export function distanceTransform(seed: Uint8Array, width: number, height: number, withNearest = false): DistanceField {
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const cols = new Float64Array(width * height);
  const nearest = withNearest ? new Int32Array(width * height) : undefined;
  const fArg = withNearest ? new Int32Array(n) : undefined;
  const arg = withNearest ? new Int32Array(n) : undefined;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      f[y] = seed[y * width + x] ? 0 : INF;
      if (fArg) fArg[y] = y * width + x;
    }
    edt1d(f, height, d, arg, fArg, v, z);
    for (let y = 0; y < height; y++) {
      cols[y * width + x] = d[y];
      if (nearest && arg) nearest[y * width + x] = d[y] >= INF ? -1 : arg[y];
    }
  }
  const distance = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      f[x] = cols[row + x];
      if (fArg && nearest) fArg[x] = nearest[row + x];
    }
    edt1d(f, width, d, arg, fArg, v, z);
    for (let x = 0; x < width; x++) {
      distance[row + x] = d[x] >= INF ? Infinity : Math.sqrt(d[x]);
      if (nearest && arg) nearest[row + x] = d[x] >= INF ? -1 : arg[x];
    }
  }
  return nearest ? { distance, nearest } : { distance };
}

/** One box pass of half-width r along rows (stride 1) or columns (stride width), edges replicated. */
function boxPass(src: Float32Array, dst: Float32Array, lines: number, len: number, lineStride: number, step: number, r: number): void {
  const norm = 1 / (2 * r + 1);
  const padded = new Float64Array(len + 2 * r + 1);
  for (let l = 0; l < lines; l++) {
    const base = l * lineStride;
    const first = src[base];
    const last = src[base + (len - 1) * step];
    padded.fill(first, 0, r);
    for (let i = 0; i < len; i++) padded[r + i] = src[base + i * step];
    padded.fill(last, r + len);
    let sum = 0;
    for (let i = 0; i <= 2 * r; i++) sum += padded[i];
    for (let i = 0; i < len; i++) {
      dst[base + i * step] = sum * norm;
      sum += padded[i + 2 * r + 1] - padded[i];
    }
  }
}

/**
 * Gaussian-like blur: three box passes per axis whose half-widths sum to `radius`, so a step edge turns
 * into a smooth ramp exactly `radius` pixels to either side (σ ≈ radius / 3), and nothing spreads
 * farther. Edges replicate (a mask touching the canvas edge continues past it).
 */
export function blur(p: Plane, radius: number): Plane {
  const r = Math.round(radius);
  if (r <= 0) return plane(p.width, p.height, p.data.slice());
  const radii = [Math.floor(r / 3), Math.floor((r + 1) / 3), Math.floor((r + 2) / 3)].filter((x) => x > 0);
  let a = p.data.slice();
  let b = new Float32Array(a.length);
  for (const br of radii) {
    boxPass(a, b, p.height, p.width, p.width, 1, br);
    [a, b] = [b, a];
    boxPass(a, b, p.width, p.height, 1, p.width, br);
    [a, b] = [b, a];
  }
  return plane(p.width, p.height, a);
}
