// The few NumPy routines diffusers builds timestep tables with, reproduced to the last bit: float64
// arithmetic in NumPy's own order, and round-half-to-even.

/** np.round / np.rint: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** np.linspace(start, stop, num, endpoint): `i*step + start`, last value forced to `stop`. */
export function linspace(start: number, stop: number, num: number, endpoint = true): number[] {
  const div = endpoint ? num - 1 : num;
  const delta = stop - start;
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(div > 0 ? i * (delta / div) + start : i * delta + start);
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/** np.arange(start, stop, step) for floats: length ceil((stop-start)/step), filled as start + i*delta. */
export function arange(start: number, stop: number, step: number): number[] {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  const out: number[] = [];
  for (let i = 0; i < length; i++) out.push(i === 0 ? start : i === 1 ? start + step : start + i * delta);
  return out;
}

/** np.interp(x, arange(len(fp)), fp) in float64, with NumPy's exact-hit and end-point rules. */
export function interpOnIndexGrid(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (x < 0) return fp[0];
  if (x >= last) return fp[last];
  const j = Math.floor(x);
  if (j === x) return fp[j];
  const slope = fp[j + 1] - fp[j];
  return slope * (x - j) + fp[j];
}
