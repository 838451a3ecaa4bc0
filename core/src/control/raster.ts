// The few OpenCV 4.6.0 drawing routines the ControlNet annotators use (ellipse2Poly, fillConvexPoly,
// circle, line with LINE_8), ported from imgproc/src/drawing.cpp so a control image comes out bit-identical:
// ControlNet was trained on skeletons drawn by exactly this code. Coordinates follow OpenCV's int64
// fixed point (XY_SHIFT = 16); JS doubles hold those integers exactly, and shifts are written as floor
// divisions so large values do not wrap at 32 bits.

export interface Canvas {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface Point {
  x: number;
  y: number;
}

const XY_SHIFT = 16;
const XY_ONE = 1 << XY_SHIFT;

/** Arithmetic shift right of an int64 held in a double. */
const sar = (v: number, s: number): number => Math.floor(v / 2 ** s);

/** cvRound: nearest integer, ties to even (the SSE2 conversion OpenCV uses). */
export function cvRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// drawing.cpp's SinTable holds sin(0°..450°) as 7-decimal float literals; this is its first quarter.
const QUARTER = [
  0.0, 0.0174524, 0.0348995, 0.052336, 0.0697565, 0.0871557, 0.1045285, 0.1218693, 0.1391731, 0.1564345,
  0.1736482, 0.190809, 0.2079117, 0.2249511, 0.2419219, 0.258819, 0.2756374, 0.2923717, 0.309017, 0.3255682,
  0.3420201, 0.3583679, 0.3746066, 0.3907311, 0.4067366, 0.4226183, 0.4383711, 0.4539905, 0.4694716, 0.4848096,
  0.5, 0.5150381, 0.5299193, 0.544639, 0.5591929, 0.5735764, 0.5877853, 0.601815, 0.6156615, 0.6293204,
  0.6427876, 0.656059, 0.6691306, 0.6819984, 0.6946584, 0.7071068, 0.7193398, 0.7313537, 0.7431448, 0.7547096,
  0.7660444, 0.777146, 0.7880108, 0.7986355, 0.809017, 0.819152, 0.8290376, 0.8386706, 0.8480481, 0.8571673,
  0.8660254, 0.8746197, 0.8829476, 0.8910065, 0.898794, 0.9063078, 0.9135455, 0.9205049, 0.9271839, 0.9335804,
  0.9396926, 0.9455186, 0.9510565, 0.9563048, 0.9612617, 0.9659258, 0.9702957, 0.9743701, 0.9781476, 0.9816272,
  0.9848078, 0.9876883, 0.9902681, 0.9925462, 0.9945219, 0.9961947, 0.9975641, 0.9986295, 0.9993908, 0.9998477,
  1.0,
];
const SIN_TABLE = Float32Array.from({ length: 451 }, (_, i) => {
  const q = Math.floor(i / 90) % 4;
  const r = i % 90;
  const v = q === 0 ? QUARTER[r]! : q === 1 ? QUARTER[90 - r]! : q === 2 ? -QUARTER[r]! : -QUARTER[90 - r]!;
  return i === 450 ? 1 : v;
});

/**
 * cv::ellipse2Poly(Point, Size, int angle, int arcStart, int arcEnd, int delta): the float sin table,
 * double arithmetic, cvRound, and consecutive duplicates dropped.
 */
export function ellipse2Poly(center: Point, axes: { width: number; height: number }, angle: number, arcStart: number, arcEnd: number, delta: number): Point[] {
  if (!Number.isInteger(angle) || !Number.isInteger(arcStart) || !Number.isInteger(arcEnd) || !(Number.isInteger(delta) && delta > 0)) {
    throw new Error(`ellipse2Poly: angle, arcs and a positive delta must be integers (got ${angle}, ${arcStart}, ${arcEnd}, ${delta})`);
  }
  while (angle < 0) angle += 360;
  while (angle > 360) angle -= 360;
  if (arcStart > arcEnd) [arcStart, arcEnd] = [arcEnd, arcStart];
  while (arcStart < 0) {
    arcStart += 360;
    arcEnd += 360;
  }
  while (arcEnd > 360) {
    arcEnd -= 360;
    arcStart -= 360;
  }
  if (arcEnd - arcStart > 360) {
    arcStart = 0;
    arcEnd = 360;
  }
  const a = angle < 0 ? angle + 360 : angle;
  const alpha = SIN_TABLE[450 - a]!;
  const beta = SIN_TABLE[a]!;
  const pts: Point[] = [];
  let prevX = Number.NaN;
  let prevY = Number.NaN;
  for (let i = arcStart; i < arcEnd + delta; i += delta) {
    let t = i > arcEnd ? arcEnd : i;
    if (t < 0) t += 360;
    const x = axes.width * SIN_TABLE[450 - t]!;
    const y = axes.height * SIN_TABLE[t]!;
    const px = cvRound(center.x + x * alpha - y * beta);
    const py = cvRound(center.y + x * beta + y * alpha);
    if (px !== prevX || py !== prevY) {
      pts.push({ x: px, y: py });
      prevX = px;
      prevY = py;
    }
  }
  if (pts.length === 1) return [center, center];
  return pts;
}

function hline(c: Canvas, y: number, x1: number, x2: number, color: ArrayLike<number>): void {
  if (y < 0 || y >= c.height) return;
  const xl = Math.max(x1, 0);
  const xr = Math.min(x2, c.width - 1);
  const cn = c.channels;
  for (let x = xl, p = (y * c.width + xl) * cn; x <= xr; x++) for (let k = 0; k < cn; k++) c.data[p++] = color[k]!;
}

function put(c: Canvas, x: number, y: number, color: ArrayLike<number>): void {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const p = (y * c.width + x) * c.channels;
  for (let k = 0; k < c.channels; k++) c.data[p + k] = color[k]!;
}

/** cv::clipLine for an image of w×h: clips the segment in place; false when nothing is inside. */
function clipLine(w: number, h: number, p1: Point, p2: Point): boolean {
  if (w <= 0 || h <= 0) return false;
  const right = w - 1;
  const bottom = h - 1;
  let { x: x1, y: y1 } = p1;
  let { x: x2, y: y2 } = p2;
  const code = (x: number, y: number): number => (x < 0 ? 1 : 0) + (x > right ? 2 : 0) + (y < 0 ? 4 : 0) + (y > bottom ? 8 : 0);
  let c1 = code(x1, y1);
  let c2 = code(x2, y2);
  if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
    if (c1 & 12) {
      const a = c1 < 8 ? 0 : bottom;
      x1 += Math.trunc(((a - y1) * (x2 - x1)) / (y2 - y1));
      y1 = a;
      c1 = (x1 < 0 ? 1 : 0) + (x1 > right ? 2 : 0);
    }
    if (c2 & 12) {
      const a = c2 < 8 ? 0 : bottom;
      x2 += Math.trunc(((a - y2) * (x2 - x1)) / (y2 - y1));
      y2 = a;
      c2 = (x2 < 0 ? 1 : 0) + (x2 > right ? 2 : 0);
    }
    if ((c1 & c2) === 0 && (c1 | c2) !== 0) {
      if (c1) {
        const a = c1 === 1 ? 0 : right;
        y1 += Math.trunc(((a - x1) * (y2 - y1)) / (x2 - x1));
        x1 = a;
        c1 = 0;
      }
      if (c2) {
        const a = c2 === 1 ? 0 : right;
        y2 += Math.trunc(((a - x2) * (y2 - y1)) / (x2 - x1));
        x2 = a;
        c2 = 0;
      }
    }
  }
  p1.x = x1;
  p1.y = y1;
  p2.x = x2;
  p2.y = y2;
  return (c1 | c2) === 0;
}

/** An 8-connected one-pixel line: cv::LineIterator (left to right) as the static Line() walks it. */
function line8(c: Canvas, ax: number, ay: number, bx: number, by: number, color: ArrayLike<number>): void {
  const inside = (x: number, y: number): boolean => x >= 0 && x < c.width && y >= 0 && y < c.height;
  if (!inside(ax, ay) || !inside(bx, by)) {
    const p1 = { x: ax, y: ay };
    const p2 = { x: bx, y: by };
    if (!clipLine(c.width, c.height, p1, p2)) return;
    ({ x: ax, y: ay } = p1);
    ({ x: bx, y: by } = p2);
  }
  let dx = bx - ax;
  let dy = by - ay;
  let x = ax;
  let y = ay;
  if (dx < 0) {
    dx = -dx;
    dy = -dy;
    x = bx;
    y = by;
  }
  let stepY = 1;
  if (dy < 0) {
    dy = -dy;
    stepY = -1;
  }
  // major = always taken, minor = taken when err < 0
  let majX = 1, majY = 0, minX = 0, minY = stepY;
  if (dy > dx) {
    [dx, dy] = [dy, dx];
    majX = 0;
    majY = stepY;
    minX = 1;
    minY = 0;
  }
  let err = dx - 2 * dy;
  for (let i = 0; i <= dx; i++) {
    put(c, x, y, color);
    const m = err < 0;
    err += -2 * dy + (m ? 2 * dx : 0);
    x += majX + (m ? minX : 0);
    y += majY + (m ? minY : 0);
  }
}

/** Line2: a one-pixel line between XY_SHIFT fixed-point ends (the edges of sub-pixel polygons). */
function line2(c: Canvas, a: Point, b: Point, color: ArrayLike<number>): void {
  const p1 = { ...a };
  const p2 = { ...b };
  if (!clipLine(c.width * XY_ONE, c.height * XY_ONE, p1, p2)) return;
  const dx = p2.x - p1.x;
  const dy = p2.y - p1.y;
  const ax = Math.abs(dx);
  const ay = Math.abs(dy);
  let x1 = p1.x, y1 = p1.y, x2 = p2.x, y2 = p2.y;
  let xStep = XY_ONE, yStep = XY_ONE, ecount: number;
  if (ax > ay) {
    const sdy = dx < 0 ? -dy : dy;
    if (dx < 0) [x1, x2, y1, y2] = [x2, x1, y2, y1];
    yStep = Math.trunc((sdy * XY_ONE) / (ax | 1));
    ecount = sar(x2 - x1, XY_SHIFT);
  } else {
    const sdx = dy < 0 ? -dx : dx;
    if (dy < 0) [x1, x2, y1, y2] = [x2, x1, y2, y1];
    xStep = Math.trunc((sdx * XY_ONE) / (ay | 1));
    ecount = sar(y2 - y1, XY_SHIFT);
  }
  x1 += XY_ONE >> 1;
  y1 += XY_ONE >> 1;
  put(c, sar(x2 + (XY_ONE >> 1), XY_SHIFT), sar(y2 + (XY_ONE >> 1), XY_SHIFT), color);
  if (ax > ay) {
    x1 = sar(x1, XY_SHIFT);
    for (; ecount >= 0; ecount--, x1++, y1 += yStep) put(c, x1, sar(y1, XY_SHIFT), color);
  } else {
    y1 = sar(y1, XY_SHIFT);
    for (; ecount >= 0; ecount--, y1++, x1 += xStep) put(c, sar(x1, XY_SHIFT), y1, color);
  }
}

/**
 * cv::fillConvexPoly with LINE_8: the outline is drawn first, then scanlines between two edges walked in
 * XY_SHIFT fixed point. `shift` is the number of fractional bits in `v` (0 or 16 here).
 */
export function fillConvexPoly(c: Canvas, v: readonly Point[], color: ArrayLike<number>, shift = 0): void {
  const npts = v.length;
  if (npts === 0) return;
  const delta = shift === 0 ? 0 : 1 << (shift - 1);
  const up = 2 ** (XY_SHIFT - shift);
  let imin = 0;
  let xmin = v[0]!.x, xmax = xmin, ymin = v[0]!.y, ymax = ymin;
  let prev = v[npts - 1]!;
  for (let i = 0; i < npts; i++) {
    const q = v[i]!;
    if (q.y < ymin) {
      ymin = q.y;
      imin = i;
    }
    ymax = Math.max(ymax, q.y);
    xmax = Math.max(xmax, q.x);
    xmin = Math.min(xmin, q.x);
    // The outline: Line() on whole pixels, Line2() on XY_SHIFT fixed point.
    if (shift === 0) line8(c, prev.x, prev.y, q.x, q.y, color);
    else line2(c, { x: prev.x * up, y: prev.y * up }, { x: q.x * up, y: q.y * up }, color);
    prev = q;
  }
  xmin = sar(xmin + delta, shift);
  xmax = sar(xmax + delta, shift);
  ymin = sar(ymin + delta, shift);
  ymax = sar(ymax + delta, shift);
  if (npts < 3 || xmax < 0 || ymax < 0 || xmin >= c.width || ymin >= c.height) return;
  ymax = Math.min(ymax, c.height - 1);

  const edge = [
    { idx: imin, di: 1, x: -XY_ONE, dx: 0, ye: ymin },
    { idx: imin, di: npts - 1, x: -XY_ONE, dx: 0, ye: ymin },
  ];
  let edges = npts;
  let y = ymin;
  do {
    for (const e of edge) {
      if (y < e.ye) continue;
      let idx0 = e.idx;
      let idx = idx0 + e.di;
      if (idx >= npts) idx -= npts;
      while (edges-- > 0) {
        const ty = sar(v[idx]!.y + delta, shift);
        if (ty > y) {
          const xs = v[idx0]!.x * up;
          const xe = v[idx]!.x * up;
          e.ye = ty;
          e.dx = Math.trunc(((xe - xs) * 2 + (ty - y)) / (2 * (ty - y)));
          e.x = xs;
          e.idx = idx;
          break;
        }
        idx0 = idx;
        idx += e.di;
        if (idx >= npts) idx -= npts;
      }
    }
    if (edges < 0) break;
    if (y < 0) {
      // Rows above the canvas draw nothing and, until an edge ends, change nothing but x: jump over them
      // (OpenCV walks them one by one, which a far off-canvas limb would make take seconds).
      const skip = Math.min(edge[0]!.ye, edge[1]!.ye, 0) - 1 - y;
      if (skip > 0) {
        edge[0]!.x += edge[0]!.dx * skip;
        edge[1]!.x += edge[1]!.dx * skip;
        y += skip;
      }
    } else {
      const [l, r] = edge[0]!.x > edge[1]!.x ? [edge[1]!, edge[0]!] : [edge[0]!, edge[1]!];
      const x1 = sar(l.x + (XY_ONE >> 1), XY_SHIFT);
      const x2 = sar(r.x + (XY_ONE >> 1), XY_SHIFT);
      if (x2 >= 0 && x1 < c.width) hline(c, y, x1, x2, color);
    }
    edge[0]!.x += edge[0]!.dx;
    edge[1]!.x += edge[1]!.dx;
  } while (++y <= ymax);
}

/** cv::circle(img, center, radius, color, FILLED) with LINE_8: OpenCV's own midpoint circle. */
export function fillCircle(c: Canvas, center: Point, radius: number, color: ArrayLike<number>): void {
  if (!(Number.isInteger(radius) && radius >= 0)) throw new Error(`fillCircle: radius must be a non-negative integer, got ${radius}`);
  const { x: cx, y: cy } = center;
  let err = 0, dx = radius, dy = 0, plus = 1, minus = (radius << 1) - 1;
  while (dx >= dy) {
    hline(c, cy - dy, cx - dx, cx + dx, color);
    hline(c, cy + dy, cx - dx, cx + dx, color);
    hline(c, cy - dx, cx - dy, cx + dy, color);
    hline(c, cy + dx, cx - dy, cx + dy, color);
    dy++;
    err += plus;
    plus += 2;
    if (err > 0) {
      err -= minus;
      dx--;
      minus -= 2;
    }
  }
}

/** cv::line(img, p0, p1, color, thickness) with LINE_8 and integer ends: a quad plus round caps. */
export function drawLine(c: Canvas, a: Point, b: Point, color: ArrayLike<number>, thickness: number): void {
  if (!(Number.isInteger(thickness) && thickness > 0 && thickness <= 32767)) throw new Error(`drawLine: thickness must be an integer in 1..32767, got ${thickness}`);
  if (thickness === 1) {
    line8(c, a.x, a.y, b.x, b.y, color);
    return;
  }
  const p0 = { x: a.x * XY_ONE, y: a.y * XY_ONE };
  const p1 = { x: b.x * XY_ONE, y: b.y * XY_ONE };
  const dx = (p0.x - p1.x) / XY_ONE;
  const dy = (p1.y - p0.y) / XY_ONE;
  let r = dx * dx + dy * dy;
  const odd = thickness & 1;
  const half = thickness * (XY_ONE >> 1);
  if (Math.abs(r) > Number.EPSILON) {
    r = (half + odd * XY_ONE * 0.5) / Math.sqrt(r);
    const ddx = cvRound(dy * r);
    const ddy = cvRound(dx * r);
    const quad = [
      { x: p0.x + ddx, y: p0.y + ddy },
      { x: p0.x - ddx, y: p0.y - ddy },
      { x: p1.x - ddx, y: p1.y - ddy },
      { x: p1.x + ddx, y: p1.y + ddy },
    ];
    fillConvexPoly(c, quad, color, XY_SHIFT);
  }
  const capRadius = sar(half + (XY_ONE >> 1), XY_SHIFT);
  fillCircle(c, a, capRadius, color);
  fillCircle(c, b, capRadius, color);
}
