// The geometry of skeletons drawn as host shapes, apart from the OpenPose parser (and its zod) so that a
// host's main thread can place and read shapes without carrying it: the shapes' data, 2-D affine
// transforms, and fitting a skeleton into a frame.
export type Rgb = readonly [number, number, number];

export interface Point {
  x: number;
  y: number;
}

export interface SkeletonJoint extends Point {
  name: string;
  color: Rgb;
}

export interface SkeletonLimb {
  from: string;
  to: string;
  color: Rgb;
}

export interface PersonSkeleton {
  joints: SkeletonJoint[];
  limbs: SkeletonLimb[];
}

export interface Skeleton {
  width: number;
  height: number;
  people: PersonSkeleton[];
}

/** A joint as read back from a host: its name and where its centre lies on the frame, in pixels. */
export interface PlacedJoint extends Point {
  name: string;
}

/**
 * A 2-D affine transform as Figma writes it (and Photoshop's transform descriptors can be put):
 * [[a, c, e], [b, d, f]] maps (x, y) to (a·x + c·y + e, b·x + d·y + f).
 */
export type Affine = readonly [readonly [number, number, number], readonly [number, number, number]];

export const IDENTITY: Affine = [[1, 0, 0], [0, 1, 0]];

export function applyAffine(t: Affine, p: Point): Point {
  return { x: t[0][0] * p.x + t[0][1] * p.y + t[0][2], y: t[1][0] * p.x + t[1][1] * p.y + t[1][2] };
}

/** `outer` after `inner`: a child's absolute transform is multiplyAffine(parentAbsolute, childRelative). */
export function multiplyAffine(outer: Affine, inner: Affine): Affine {
  const [[a, c, e], [b, d, f]] = outer;
  const [[A, C, E], [B, D, F]] = inner;
  return [[a * A + c * B, a * C + c * D, a * E + c * F + e], [b * A + d * B, b * C + d * D, b * E + d * F + f]];
}

export function invertAffine(t: Affine): Affine {
  const [[a, c, e], [b, d, f]] = t;
  const det = a * d - b * c;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new Error('transform cannot be inverted (it flattens the shape)');
  return [[d / det, -c / det, (c * f - d * e) / det], [-b / det, a / det, (b * e - a * f) / det]];
}

/** Where the centre of a `width`×`height` box drawn with `absolute` lies in the frame whose absolute transform is `frame`. */
export function centreInFrame(absolute: Affine, width: number, height: number, frame: Affine): Point {
  return applyAffine(invertAffine(frame), applyAffine(absolute, { x: width / 2, y: height / 2 }));
}

/** A rotation-only (unit axes) transform whose x axis runs from `from` to `to`, and the distance between them: a line's placement. */
export function lineBetween(from: Point, to: Point): { transform: Affine; length: number } {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const length = Math.hypot(dx, dy);
  const cos = length > 0 ? dx / length : 1;
  const sin = length > 0 ? dy / length : 0;
  return { transform: [[cos, -sin, from.x], [sin, cos, from.y]], length };
}

/** The transform that fits a `from` canvas into a `to` frame, aspect kept and centred ('contain'). */
export function containTransform(from: { width: number; height: number }, to: { width: number; height: number }): Affine {
  const scale = Math.min(to.width / from.width, to.height / from.height);
  return [[scale, 0, (to.width - from.width * scale) / 2], [0, scale, (to.height - from.height * scale) / 2]];
}

/** The skeleton moved onto a `width`×`height` frame by `transform`. */
export function transformSkeleton(skeleton: Skeleton, transform: Affine, width: number, height: number): Skeleton {
  return { width, height, people: skeleton.people.map((p) => ({ joints: p.joints.map((j) => ({ ...j, ...applyAffine(transform, j) })), limbs: p.limbs })) };
}
