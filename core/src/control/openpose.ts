// Pose data as pose editors and ControlNet tools exchange it: the OpenPose JSON layout
// (people[].pose_keypoints_2d as COCO-18 × [x, y, confidence], optional hands and face, canvas size).
// Inside Kirie a pose keeps coordinates normalised to its canvas (x / width, y / height), the form the
// ControlNet annotator draws from; missing points are null.
import { z } from 'zod';

export const BODY_KEYPOINTS = [
  'nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder', 'left_elbow', 'left_wrist',
  'right_hip', 'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle', 'right_eye', 'left_eye',
  'right_ear', 'left_ear',
] as const;
export const HAND_KEYPOINT_COUNT = 21;

export interface Keypoint {
  /** Normalised: 0 = left edge, 1 = right edge of the canvas (may lie outside). */
  x: number;
  y: number;
  confidence: number;
}

export interface PersonPose {
  /** 18 entries in COCO-18 order (BODY_KEYPOINTS). */
  body: (Keypoint | null)[];
  leftHand?: (Keypoint | null)[];
  rightHand?: (Keypoint | null)[];
  face?: (Keypoint | null)[];
}

export interface PoseDocument {
  width: number;
  height: number;
  people: PersonPose[];
}

export type CoordinateSpace = 'pixel' | 'normalized';

const flatArray = z.array(z.number().finite());
const personSchema = z.object({
  pose_keypoints_2d: flatArray.optional(),
  hand_left_keypoints_2d: flatArray.optional(),
  hand_right_keypoints_2d: flatArray.optional(),
  face_keypoints_2d: flatArray.optional(),
});
const documentSchema = z.object({
  canvas_width: z.number().int().positive().optional(),
  canvas_height: z.number().int().positive().optional(),
  people: z.array(personSchema),
});

export interface ParsePoseOptions {
  /** Canvas size when the JSON has none (required then). */
  width?: number;
  height?: number;
  /** Default: normalised when every present coordinate lies in [0, 1], pixels otherwise. */
  coordinates?: CoordinateSpace;
}

type RawPoint = [number, number, number];

function triples(values: number[] | undefined, field: string, person: number, expected?: number): RawPoint[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length % 3 !== 0) throw new Error(`people[${person}].${field}: ${values.length} numbers is not a whole number of [x, y, confidence] triples`);
  const n = values.length / 3;
  if (expected !== undefined && n !== expected) throw new Error(`people[${person}].${field}: expected ${expected} points (${expected * 3} numbers), got ${n}`);
  return Array.from({ length: n }, (_, i) => [values[3 * i]!, values[3 * i + 1]!, values[3 * i + 2]!]);
}

// OpenPose's own default model writes BODY_25 (a mid-hip and six foot points added); these are its COCO-18 points.
const BODY25_TO_COCO18 = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];

function bodyTriples(values: number[] | undefined, person: number): RawPoint[] | undefined {
  if (values?.length === 25 * 3) return BODY25_TO_COCO18.map((k) => triples(values, 'pose_keypoints_2d', person)![k]!);
  return triples(values, 'pose_keypoints_2d', person, BODY_KEYPOINTS.length);
}

/** Reads OpenPose-style JSON (an object, or its text; COCO-18 or BODY_25 bodies). Missing points are [0, 0, 0]: confidence 0. */
export function parsePoseJson(input: unknown, options: ParsePoseOptions = {}): PoseDocument {
  const raw = typeof input === 'string' ? (JSON.parse(input) as unknown) : input;
  const parsed = documentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`pose JSON: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const doc = parsed.data;
  const width = doc.canvas_width ?? options.width;
  const height = doc.canvas_height ?? options.height;
  const people = doc.people.map((p, i) => ({
    body: bodyTriples(p.pose_keypoints_2d, i),
    leftHand: triples(p.hand_left_keypoints_2d, 'hand_left_keypoints_2d', i, HAND_KEYPOINT_COUNT),
    rightHand: triples(p.hand_right_keypoints_2d, 'hand_right_keypoints_2d', i, HAND_KEYPOINT_COUNT),
    face: triples(p.face_keypoints_2d, 'face_keypoints_2d', i),
  }));
  const present = people.flatMap((p) => [p.body, p.leftHand, p.rightHand, p.face].flatMap((pts) => (pts ?? []).filter((q) => q[2] > 0)));
  const space = options.coordinates ?? (present.every((q) => Math.abs(q[0]) <= 1 && Math.abs(q[1]) <= 1) ? 'normalized' : 'pixel');
  if (width === undefined || height === undefined) {
    throw new Error('pose JSON: no canvas_width/canvas_height; pass the canvas size');
  }
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`pose JSON: canvas size must be positive integers, got ${width}×${height}`);
  }
  const sx = space === 'pixel' ? width : 1;
  const sy = space === 'pixel' ? height : 1;
  const convert = (pts: RawPoint[] | undefined): (Keypoint | null)[] | undefined =>
    pts?.map(([x, y, c]) => (c > 0 ? { x: x / sx, y: y / sy, confidence: c } : null));
  return {
    width,
    height,
    people: people.map((p) => {
      const person: PersonPose = { body: convert(p.body) ?? new Array<null>(BODY_KEYPOINTS.length).fill(null) };
      const leftHand = convert(p.leftHand);
      const rightHand = convert(p.rightHand);
      const face = convert(p.face);
      if (leftHand) person.leftHand = leftHand;
      if (rightHand) person.rightHand = rightHand;
      if (face) person.face = face;
      return person;
    }),
  };
}

export interface PoseJson {
  canvas_width: number;
  canvas_height: number;
  people: {
    pose_keypoints_2d: number[];
    hand_left_keypoints_2d?: number[];
    hand_right_keypoints_2d?: number[];
    face_keypoints_2d?: number[];
  }[];
}

/** Writes OpenPose-style JSON; missing points become [0, 0, 0]. */
export function toPoseJson(doc: PoseDocument, coordinates: CoordinateSpace = 'pixel'): PoseJson {
  const sx = coordinates === 'pixel' ? doc.width : 1;
  const sy = coordinates === 'pixel' ? doc.height : 1;
  // x / width * width is not always x again in floating point: snap that noise so whole pixels stay whole.
  const snap = (v: number): number => (Math.abs(v - Math.round(v)) < 1e-9 ? Math.round(v) : v);
  const flat = (pts: (Keypoint | null)[]): number[] => pts.flatMap((p) => (p ? [snap(p.x * sx), snap(p.y * sy), p.confidence] : [0, 0, 0]));
  return {
    canvas_width: doc.width,
    canvas_height: doc.height,
    people: doc.people.map((p) => ({
      pose_keypoints_2d: flat(p.body),
      ...(p.leftHand ? { hand_left_keypoints_2d: flat(p.leftHand) } : {}),
      ...(p.rightHand ? { hand_right_keypoints_2d: flat(p.rightHand) } : {}),
      ...(p.face ? { face_keypoints_2d: flat(p.face) } : {}),
    })),
  };
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

function mapPoints(doc: PoseDocument, f: (p: Keypoint) => Keypoint): PersonPose[] {
  const m = (pts: (Keypoint | null)[] | undefined): (Keypoint | null)[] | undefined => pts?.map((p) => (p ? f(p) : null));
  return doc.people.map((p) => {
    const out: PersonPose = { body: m(p.body)! };
    if (p.leftHand) out.leftHand = m(p.leftHand)!;
    if (p.rightHand) out.rightHand = m(p.rightHand)!;
    if (p.face) out.face = m(p.face)!;
    return out;
  });
}

function checkRect(r: Rect, what: string): void {
  if (![r.x, r.y, r.width, r.height].every(Number.isFinite) || r.width <= 0 || r.height <= 0) {
    throw new Error(`${what}: rectangle needs finite x, y and a positive size, got ${JSON.stringify(r)}`);
  }
}

function checkSize(width: number, height: number, what: string): void {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`${what}: canvas size must be positive integers, got ${width}×${height}`);
  }
}

/**
 * The part of the pose inside `rect` (in the pose's pixels), scaled onto a new canvas of
 * `width`×`height` (default: the rectangle's size). Points outside stay, off-canvas.
 */
export function cropPose(doc: PoseDocument, rect: Rect, width = Math.round(rect.width), height = Math.round(rect.height)): PoseDocument {
  checkRect(rect, 'cropPose');
  checkSize(width, height, 'cropPose');
  const people = mapPoints(doc, (p) => ({
    x: (p.x * doc.width - rect.x) / rect.width,
    y: (p.y * doc.height - rect.y) / rect.height,
    confidence: p.confidence,
  }));
  return { width, height, people };
}

/**
 * The whole pose placed into `rect` of a `width`×`height` canvas: 'contain' keeps the aspect ratio and
 * centres it, 'stretch' fills the rectangle.
 */
export function placePose(doc: PoseDocument, rect: Rect, width: number, height: number, fit: 'contain' | 'stretch' = 'contain'): PoseDocument {
  checkRect(rect, 'placePose');
  checkSize(width, height, 'placePose');
  let sx = rect.width / doc.width;
  let sy = rect.height / doc.height;
  if (fit === 'contain') sx = sy = Math.min(sx, sy);
  const ox = rect.x + (rect.width - doc.width * sx) / 2;
  const oy = rect.y + (rect.height - doc.height * sy) / 2;
  const people = mapPoints(doc, (p) => ({
    x: (ox + p.x * doc.width * sx) / width,
    y: (oy + p.y * doc.height * sy) / height,
    confidence: p.confidence,
  }));
  return { width, height, people };
}
