// The drawing mannequin behind the 3-D pose editor, without any renderer: an articulated skeleton (rest
// offsets in metres, y up, the figure facing +z), joint rotations clamped to human limits, forward
// kinematics, mirroring, a small library of poses, and the camera projection that turns the joints into
// OpenPose keypoints. A renderer (three.js in the editors) draws these same joints; the keypoints the fill
// gets come from here, so they do not depend on how the scene is drawn.
import { BODY_KEYPOINTS, type Keypoint, type PoseDocument } from './openpose.js';

export type Vec3 = readonly [number, number, number];
/** Rotation about x, y, z in degrees, applied as three.js's default 'XYZ' order (R = Rx·Ry·Rz). */
export type Euler = readonly [number, number, number];
type Limits = readonly [readonly [number, number], readonly [number, number], readonly [number, number]];

interface BoneSpec {
  parent: string | null;
  offset: Vec3;
}

/** The skeleton: pelvis is the root (not a keypoint); every other bone ends at the keypoint it is named after. */
const BONES: Record<string, BoneSpec> = {
  pelvis: { parent: null, offset: [0, 0, 0] },
  neck: { parent: 'pelvis', offset: [0, 0.55, 0] },
  nose: { parent: 'neck', offset: [0, 0.17, 0.09] },
  right_eye: { parent: 'nose', offset: [-0.035, 0.04, -0.02] },
  left_eye: { parent: 'nose', offset: [0.035, 0.04, -0.02] },
  right_ear: { parent: 'nose', offset: [-0.075, 0.01, -0.09] },
  left_ear: { parent: 'nose', offset: [0.075, 0.01, -0.09] },
  // The figure faces +z, so its right side is at −x.
  right_shoulder: { parent: 'neck', offset: [-0.19, 0, 0] },
  right_elbow: { parent: 'right_shoulder', offset: [0, -0.3, 0] },
  right_wrist: { parent: 'right_elbow', offset: [0, -0.27, 0] },
  left_shoulder: { parent: 'neck', offset: [0.19, 0, 0] },
  left_elbow: { parent: 'left_shoulder', offset: [0, -0.3, 0] },
  left_wrist: { parent: 'left_elbow', offset: [0, -0.27, 0] },
  right_hip: { parent: 'pelvis', offset: [-0.1, 0, 0] },
  right_knee: { parent: 'right_hip', offset: [0, -0.45, 0] },
  right_ankle: { parent: 'right_knee', offset: [0, -0.43, 0] },
  left_hip: { parent: 'pelvis', offset: [0.1, 0, 0] },
  left_knee: { parent: 'left_hip', offset: [0, -0.45, 0] },
  left_ankle: { parent: 'left_knee', offset: [0, -0.43, 0] },
};

/**
 * What each joint may turn (degrees about x, y, z), the figure facing +z: a negative x turn swings a limb
 * forward; elbows bend forward only, knees backward only; the right arm rises sideways with a negative z
 * turn, the left with a positive one. Joints not listed do not turn (eyes, ears, wrists, ankles).
 */
const LIMITS: Record<string, Limits> = {
  pelvis: [[-180, 180], [-180, 180], [-180, 180]],
  neck: [[-45, 60], [-80, 80], [-45, 45]],
  nose: [[-40, 40], [-70, 70], [-30, 30]],
  right_shoulder: [[-180, 60], [-90, 90], [-180, 30]],
  left_shoulder: [[-180, 60], [-90, 90], [-30, 180]],
  right_elbow: [[-150, 0], [0, 0], [0, 0]],
  left_elbow: [[-150, 0], [0, 0], [0, 0]],
  right_hip: [[-120, 45], [-45, 45], [-90, 45]],
  left_hip: [[-120, 45], [-45, 45], [-45, 90]],
  right_knee: [[0, 150], [0, 0], [0, 0]],
  left_knee: [[0, 150], [0, 0], [0, 0]],
};
const FIXED: Limits = [[0, 0], [0, 0], [0, 0]];

export const MANNEQUIN_JOINTS = Object.keys(BONES);

/** Rotations are keyed by the joint they turn about: `rotations.right_shoulder` swings the whole right arm. */
export interface MannequinPose {
  /** Where the pelvis is, in metres. */
  position: Vec3;
  rotations: Partial<Record<string, Euler>>;
}

const clamp = (v: number, [lo, hi]: readonly [number, number]) => Math.min(hi, Math.max(lo, v));

/** The rotation about `joint` as the body allows it (each axis clamped to the joint's range). */
export function limitRotation(joint: string, euler: Euler): Euler {
  if (!(joint in BONES)) throw new Error(`mannequin: no joint "${joint}"`);
  if (!euler.every(Number.isFinite)) throw new Error(`mannequin: rotation of "${joint}" must be three finite angles`);
  const limits = LIMITS[joint] ?? FIXED;
  return [clamp(euler[0], limits[0]), clamp(euler[1], limits[1]), clamp(euler[2], limits[2])];
}

/** The pose with `joint` turned to `euler` (clamped): the editor's drag. */
export function rotateJoint(pose: MannequinPose, joint: string, euler: Euler): MannequinPose {
  return { position: pose.position, rotations: { ...pose.rotations, [joint]: limitRotation(joint, euler) } };
}

type Mat3 = readonly [number, number, number, number, number, number, number, number, number];

const mul = (a: Mat3, b: Mat3): Mat3 => [
  a[0] * b[0] + a[1] * b[3] + a[2] * b[6], a[0] * b[1] + a[1] * b[4] + a[2] * b[7], a[0] * b[2] + a[1] * b[5] + a[2] * b[8],
  a[3] * b[0] + a[4] * b[3] + a[5] * b[6], a[3] * b[1] + a[4] * b[4] + a[5] * b[7], a[3] * b[2] + a[4] * b[5] + a[5] * b[8],
  a[6] * b[0] + a[7] * b[3] + a[8] * b[6], a[6] * b[1] + a[7] * b[4] + a[8] * b[7], a[6] * b[2] + a[7] * b[5] + a[8] * b[8],
];
const apply = (m: Mat3, v: Vec3): Vec3 => [m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2], m[6] * v[0] + m[7] * v[1] + m[8] * v[2]];
const IDENTITY3: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

function rotation([x, y, z]: Euler): Mat3 {
  const r = Math.PI / 180;
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(x * r), Math.sin(x * r), Math.cos(y * r), Math.sin(y * r), Math.cos(z * r), Math.sin(z * r)];
  const rx: Mat3 = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  const ry: Mat3 = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  const rz: Mat3 = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  return mul(mul(rx, ry), rz);
}

/** Each joint's world position and the world rotation of the bones hanging from it. */
function solve(pose: MannequinPose): Record<string, { at: Vec3; turn: Mat3 }> {
  const world: Record<string, { at: Vec3; turn: Mat3 }> = {};
  for (const [name, bone] of Object.entries(BONES)) {
    const parent = bone.parent ? world[bone.parent]! : { at: [0, 0, 0] as Vec3, turn: IDENTITY3 };
    const offset = bone.parent ? apply(parent.turn, bone.offset) : pose.position;
    const at: Vec3 = [parent.at[0] + offset[0], parent.at[1] + offset[1], parent.at[2] + offset[2]];
    const own = pose.rotations[name];
    world[name] = { at, turn: own ? mul(parent.turn, rotation(limitRotation(name, own))) : parent.turn };
  }
  return world;
}

/** Every joint's position in the world (metres), by forward kinematics; rotations are clamped first. */
export function jointPositions(pose: MannequinPose): Record<string, Vec3> {
  return Object.fromEntries(Object.entries(solve(pose)).map(([k, v]) => [k, v.at]));
}

/** The bone each turning joint aims when its end is dragged (the head follows the nose, the trunk the neck). */
const AIMED_CHILD: Record<string, string> = {
  pelvis: 'neck', neck: 'nose',
  right_shoulder: 'right_elbow', right_elbow: 'right_wrist', left_shoulder: 'left_elbow', left_elbow: 'left_wrist',
  right_hip: 'right_knee', right_knee: 'right_ankle', left_hip: 'left_knee', left_knee: 'left_ankle',
};

/** The joint that turns when `handle` is dragged (the wrist turns the elbow, the neck leans the trunk), or null. */
export function jointTurnedBy(handle: string): string | null {
  const parent = BONES[handle]?.parent;
  return parent && AIMED_CHILD[parent] === handle ? parent : null;
}

const transpose = (m: Mat3): Mat3 => [m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]];

/** The smallest rotation taking unit vector `a` to unit vector `b` (Rodrigues). */
function rotationBetween(a: Vec3, b: Vec3): Mat3 {
  const [x, y, z] = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const c = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  if (c < -1 + 1e-12) {
    // Opposite directions: half a turn about any axis perpendicular to a.
    const p: Vec3 = Math.abs(a[0]) < 0.9 ? [0, -a[2], a[1]] : [-a[2], 0, a[0]];
    const l = Math.hypot(...p);
    const [u, v, w] = [p[0] / l, p[1] / l, p[2] / l];
    return [2 * u * u - 1, 2 * u * v, 2 * u * w, 2 * u * v, 2 * v * v - 1, 2 * v * w, 2 * u * w, 2 * v * w, 2 * w * w - 1];
  }
  const k = 1 / (1 + c);
  return [
    c + k * x * x, k * x * y - z, k * x * z + y,
    k * x * y + z, c + k * y * y, k * y * z - x,
    k * x * z - y, k * y * z + x, c + k * z * z,
  ];
}

/** The 'XYZ' Euler angles (degrees) of a rotation matrix, as three.js's Euler.setFromRotationMatrix. */
function eulerOf(m: Mat3): Euler {
  const d = 180 / Math.PI;
  const y = Math.asin(Math.min(1, Math.max(-1, m[2])));
  if (Math.abs(m[2]) < 0.9999999) return [Math.atan2(-m[5], m[8]) * d, y * d, Math.atan2(-m[1], m[0]) * d];
  return [Math.atan2(m[7], m[4]) * d, y * d, 0];
}

/** Elbows and knees: joints that only turn about their x axis. */
const isHinge = (joint: string) => {
  const limits = LIMITS[joint];
  return limits !== undefined && limits[1][0] === limits[1][1] && limits[2][0] === limits[2][1] && limits[0][0] !== limits[0][1];
};

/** The world direction a hinge joint (elbow, knee) turns about, or null for a joint that turns freely or not at all. */
export function hingeAxis(pose: MannequinPose, joint: string): Vec3 | null {
  if (!isHinge(joint)) return null;
  const parent = BONES[joint]!.parent!;
  return apply(solve(pose)[parent]!.turn, [1, 0, 0]);
}

/**
 * The pose with `joint` turned so the bone it aims points at `target` (world metres), within the joint's
 * limits: the editor's drag of a bone's end. The bone's own twist is kept (the smallest turn that gets there);
 * a hinge takes the angle of the target around its axis.
 */
export function aimJoint(pose: MannequinPose, joint: string, target: Vec3): MannequinPose {
  const child = AIMED_CHILD[joint];
  if (!child) throw new Error(`mannequin: "${joint}" is not a joint that can be aimed`);
  const world = solve(pose);
  const parentTurn = BONES[joint]!.parent ? world[BONES[joint]!.parent!]!.turn : IDENTITY3;
  const own = pose.rotations[joint];
  const current = own ? rotation(limitRotation(joint, own)) : IDENTITY3;
  const at = world[joint]!.at;
  const wanted = apply(transpose(parentTurn), [target[0] - at[0], target[1] - at[1], target[2] - at[2]]);
  if (isHinge(joint)) {
    const o = BONES[child]!.offset;
    if (Math.hypot(wanted[1], wanted[2]) < 1e-9) return pose;
    const angle = Math.atan2(o[1] * wanted[2] - o[2] * wanted[1], o[1] * wanted[1] + o[2] * wanted[2]);
    return rotateJoint(pose, joint, [(angle * 180) / Math.PI, 0, 0]);
  }
  const now = apply(current, BONES[child]!.offset);
  const [lw, ln] = [Math.hypot(...wanted), Math.hypot(...now)];
  if (lw < 1e-9) return pose;
  const turn = rotationBetween([now[0] / ln, now[1] / ln, now[2] / ln], [wanted[0] / lw, wanted[1] / lw, wanted[2] / lw]);
  return rotateJoint(pose, joint, eulerOf(mul(turn, current)));
}

/** The pose seen in a mirror across the figure's own x = 0 plane: left and right swap, y and z turns reverse. */
export function mirrorPose(pose: MannequinPose): MannequinPose {
  const swap = (name: string) => (name.startsWith('left_') ? `right_${name.slice(5)}` : name.startsWith('right_') ? `left_${name.slice(6)}` : name);
  const rotations: Partial<Record<string, Euler>> = {};
  for (const [name, e] of Object.entries(pose.rotations)) if (e) rotations[swap(name)] = [e[0], -e[1], -e[2]];
  return { position: [-pose.position[0], pose.position[1], pose.position[2]], rotations };
}

export interface PerspectiveCamera {
  position: Vec3;
  target: Vec3;
  /** Vertical field of view in degrees, as three.js's PerspectiveCamera.fov. */
  fov: number;
  near?: number;
}

/**
 * The joints as OpenPose keypoints on a `width`×`height` image from `camera` (three.js's perspective
 * projection, y up in the world, y down in the image). A joint behind the camera is missing; one off the
 * image keeps its off-canvas position (the annotator clips what it draws).
 */
export function projectPose(figures: readonly MannequinPose[], camera: PerspectiveCamera, width: number, height: number): PoseDocument {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) throw new Error(`projectPose: image size must be positive integers, got ${width}×${height}`);
  if (!(camera.fov > 0 && camera.fov < 180)) throw new Error(`projectPose: fov must be between 0 and 180 degrees, got ${camera.fov}`);
  const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const norm = (v: Vec3): Vec3 => {
    const l = Math.hypot(...v);
    if (l === 0) throw new Error('projectPose: the camera looks at its own position');
    return [v[0] / l, v[1] / l, v[2] / l];
  };
  const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  // Camera axes as three.js's lookAt builds them (up = +y): back = z, right = x, up = y.
  const back = norm(sub(camera.position, camera.target));
  const right = norm(cross([0, 1, 0], back));
  const up = cross(back, right);
  const f = 1 / Math.tan((camera.fov * Math.PI) / 360);
  const aspect = width / height;
  const near = camera.near ?? 0.1;
  const project = (p: Vec3): Keypoint | null => {
    const d = sub(p, camera.position);
    const depth = -dot(d, back);
    if (depth <= near) return null;
    const ndcX = (f / aspect) * (dot(d, right) / depth);
    const ndcY = f * (dot(d, up) / depth);
    return { x: (ndcX + 1) / 2, y: (1 - ndcY) / 2, confidence: 1 };
  };
  return {
    width,
    height,
    people: figures.map((figure) => {
      const joints = jointPositions(figure);
      return { body: BODY_KEYPOINTS.map((name) => project(joints[name]!)) };
    }),
  };
}

/** What a 3-D pose editor holds: the figures and the camera the keypoints are seen from. */
export interface MannequinScene {
  figures: MannequinPose[];
  camera: PerspectiveCamera;
}

/** A camera 4.2 m in front of the origin at hip height: a standing figure fills about half a portrait image. */
export const DEFAULT_MANNEQUIN_CAMERA: PerspectiveCamera = { position: [0, 1, 4.2], target: [0, 0.9, 0], fov: 40 };

/** The scene's figures as OpenPose keypoints on a `width`×`height` image, one person per figure. */
export function projectScene(scene: MannequinScene, width: number, height: number): PoseDocument {
  return projectPose(scene.figures, scene.camera, width, height);
}

/** Undo and redo over poses: the editor pushes each finished drag. */
export class PoseHistory<T> {
  private past: T[] = [];
  private future: T[] = [];
  constructor(private present: T) {}
  get current(): T {
    return this.present;
  }
  push(next: T): void {
    this.past.push(this.present);
    this.present = next;
    this.future = [];
  }
  undo(): T {
    const prev = this.past.pop();
    if (prev !== undefined) {
      this.future.push(this.present);
      this.present = prev;
    }
    return this.present;
  }
  redo(): T {
    const next = this.future.pop();
    if (next !== undefined) {
      this.past.push(this.present);
      this.present = next;
    }
    return this.present;
  }
}

const at = (rotations: MannequinPose['rotations'], y = 0): MannequinPose => ({ position: [0, 0.95 + y, 0], rotations });

/** Poses to start from; each is the rest pose (standing, arms down) with a few joints turned. */
export const MANNEQUIN_PRESETS: Record<string, MannequinPose> = {
  standing: at({ right_shoulder: [0, 0, -10], left_shoulder: [0, 0, 10] }),
  walking: at({ right_hip: [-25, 0, 0], right_knee: [10, 0, 0], left_hip: [20, 0, 0], left_knee: [30, 0, 0], right_shoulder: [25, 0, -5], left_shoulder: [-25, 0, 5], right_elbow: [-20, 0, 0], left_elbow: [-20, 0, 0] }),
  running: at({ pelvis: [10, 0, 0], right_hip: [-60, 0, 0], right_knee: [70, 0, 0], left_hip: [35, 0, 0], left_knee: [90, 0, 0], right_shoulder: [50, 0, -10], left_shoulder: [-50, 0, 10], right_elbow: [-90, 0, 0], left_elbow: [-90, 0, 0] }),
  sitting: at({ right_hip: [-90, 0, 0], left_hip: [-90, 0, 0], right_knee: [90, 0, 0], left_knee: [90, 0, 0], right_shoulder: [-20, 0, -10], left_shoulder: [-20, 0, 10] }, -0.45),
  jumping: at({ right_hip: [-40, 0, -10], left_hip: [-40, 0, 10], right_knee: [110, 0, 0], left_knee: [110, 0, 0], right_shoulder: [0, 0, -160], left_shoulder: [0, 0, 160] }, 0.4),
  reaching: at({ right_shoulder: [0, 0, -170], left_shoulder: [0, 0, 30], neck: [-15, 0, 0] }),
  lying: at({ pelvis: [-90, 0, 0], right_shoulder: [0, 0, -20], left_shoulder: [0, 0, 20] }, -0.8),
};
