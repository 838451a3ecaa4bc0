// Integer rectangles as immutable values. Every function returns a new frozen value; none mutates.

export interface Extent {
  readonly width: number;
  readonly height: number;
}

/** A rectangle in canvas pixels: [x, x + width) × [y, y + height). */
export interface Bounds extends Extent {
  readonly x: number;
  readonly y: number;
}

function checkInt(what: string, v: number): void {
  if (!Number.isInteger(v)) throw new Error(`${what} must be an integer, got ${v}`);
}

export function extent(width: number, height: number): Extent {
  checkInt('width', width);
  checkInt('height', height);
  if (width < 0 || height < 0) throw new Error(`extent must not be negative, got ${width}×${height}`);
  return Object.freeze({ width, height });
}

export function bounds(x: number, y: number, width: number, height: number): Bounds {
  checkInt('x', x);
  checkInt('y', y);
  const e = extent(width, height);
  return Object.freeze({ x, y, width: e.width, height: e.height });
}

export const isEmpty = (b: Extent): boolean => b.width === 0 || b.height === 0;
export const longestSide = (e: Extent): number => Math.max(e.width, e.height);
export const shortestSide = (e: Extent): number => Math.min(e.width, e.height);
export const meanSide = (e: Extent): number => (e.width + e.height) / 2;
export const diagonal = (e: Extent): number => Math.hypot(e.width, e.height);

/** Smallest multiple of `multiple` that is ≥ v. */
export function roundUpTo(v: number, multiple: number): number {
  return Math.ceil(v / multiple) * multiple;
}

export function intersect(a: Bounds, b: Bounds): Bounds {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.width, b.x + b.width) - x;
  const h = Math.min(a.y + a.height, b.y + b.height) - y;
  return w > 0 && h > 0 ? bounds(x, y, w, h) : bounds(x, y, 0, 0);
}

export function contains(outer: Bounds, inner: Bounds): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
}

/** Grows by `by` pixels on every side (negative shrinks, never below zero size). */
export function expand(b: Bounds, by: number): Bounds {
  checkInt('padding', by);
  return bounds(b.x - by, b.y - by, Math.max(0, b.width + 2 * by), Math.max(0, b.height + 2 * by));
}

/**
 * Pads evenly by `padding`, then grows each side to at least `minSize` and up to a multiple of `multiple`,
 * keeping the centre (extra pixel on the right/bottom). With `square`, the long side gets less padding
 * (by half the side difference) so the result tends towards a square.
 */
export function pad(b: Bounds, padding: number, opts: { minSize?: number; multiple?: number; square?: boolean } = {}): Bounds {
  const { minSize = 0, multiple = 1, square = false } = opts;
  checkInt('padding', padding);
  let padX = padding;
  let padY = padding;
  if (square && b.width > b.height) padX = Math.max(0, padX - Math.floor((b.width - b.height) / 2));
  if (square && b.height > b.width) padY = Math.max(0, padY - Math.floor((b.height - b.width) / 2));
  const axis = (start: number, size: number, p: number): [number, number] => {
    const grown = roundUpTo(Math.max(size + 2 * p, minSize), multiple);
    return [start - Math.floor((grown - size) / 2), grown];
  };
  const [x, w] = axis(b.x, b.width, padX);
  const [y, h] = axis(b.y, b.height, padY);
  return bounds(x, y, w, h);
}

/**
 * Moves bounds inside an extent without changing their size; a side longer than the extent is cut to it.
 * This keeps context crops as large as asked near canvas edges instead of cutting them short.
 */
export function clampInto(b: Bounds, e: Extent): Bounds {
  const axis = (start: number, size: number, max: number): [number, number] => {
    if (size >= max) return [0, max];
    const s = Math.max(start, 0);
    return [s - Math.max(s + size - max, 0), size];
  };
  const [x, w] = axis(b.x, b.width, e.width);
  const [y, h] = axis(b.y, b.height, e.height);
  return bounds(x, y, w, h);
}
