// A pose as editable drawing objects, for hosts that show it as shapes the user moves (Figma nodes,
// Photoshop paths): per person, one joint per present keypoint, named by COCO-18 name (hands:
// "left_hand_0"…"left_hand_20"), and the limbs between present joints in the colours the ControlNet
// annotator draws them (render.ts). Coordinates are pixels of the frame/canvas the pose lies on.
// Reading back goes by joint name only: a deleted joint is a hidden keypoint, a moved one moves the
// keypoint, and limbs are decoration the host may leave stale.
import { BODY_KEYPOINTS, HAND_KEYPOINT_COUNT, type Keypoint, type PersonPose, type PoseDocument } from './openpose.js';
import { COLORS, HAND_COLORS, HAND_EDGES, HAND_POINT_COLOR, LIMBS } from './render.js';
import type { PersonSkeleton, PlacedJoint, Rgb, Skeleton } from './skeleton-geometry.js';

export type HandSide = 'left' | 'right';

export const handJointName = (side: HandSide, index: number): string => `${side}_hand_${index}`;

const HAND_NAME = /^(left|right)_hand_(\d+)$/;

/** What a joint name means: a body keypoint index, or a hand and its point index; null for other names. */
export function parseJointName(name: string): { part: 'body'; index: number } | { part: HandSide; index: number } | null {
  const body = (BODY_KEYPOINTS as readonly string[]).indexOf(name);
  if (body >= 0) return { part: 'body', index: body };
  const hand = HAND_NAME.exec(name);
  if (!hand) return null;
  const index = Number(hand[2]);
  return index < HAND_KEYPOINT_COUNT && String(index) === hand[2] ? { part: hand[1] as HandSide, index } : null;
}

function handSkeleton(side: HandSide, hand: (Keypoint | null)[] | undefined, doc: PoseDocument, person: PersonSkeleton): void {
  if (!hand) return;
  hand.forEach((p, i) => {
    if (p) person.joints.push({ name: handJointName(side, i), x: p.x * doc.width, y: p.y * doc.height, color: HAND_POINT_COLOR });
  });
  HAND_EDGES.forEach(([a, b], i) => {
    if (hand[a] && hand[b]) person.limbs.push({ from: handJointName(side, a), to: handJointName(side, b), color: HAND_COLORS[i] as unknown as Rgb });
  });
}

/** The shapes to draw for a pose: its present keypoints as joints and the limbs the annotator draws between them. */
export function skeletonFromPose(doc: PoseDocument): Skeleton {
  return {
    width: doc.width,
    height: doc.height,
    people: doc.people.map((p) => {
      const person: PersonSkeleton = { joints: [], limbs: [] };
      p.body.forEach((k, i) => {
        if (k) person.joints.push({ name: BODY_KEYPOINTS[i]!, x: k.x * doc.width, y: k.y * doc.height, color: COLORS[i]! });
      });
      LIMBS.forEach(([a, b], i) => {
        if (p.body[a - 1] && p.body[b - 1]) person.limbs.push({ from: BODY_KEYPOINTS[a - 1]!, to: BODY_KEYPOINTS[b - 1]!, color: COLORS[i]! });
      });
      handSkeleton('left', p.leftHand, doc, person);
      handSkeleton('right', p.rightHand, doc, person);
      return person;
    }),
  };
}

/**
 * The pose the joints read back from a host describe, on a `width`×`height` frame. Joints the user kept
 * count as seen (confidence 1); names that are no keypoint, duplicates and non-finite positions are refused
 * with the person and joint named, so a stray layer never silently becomes a keypoint.
 */
export function poseFromJoints(people: readonly (readonly PlacedJoint[])[], width: number, height: number): PoseDocument {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) throw new Error(`pose: frame size must be positive integers, got ${width}×${height}`);
  return {
    width,
    height,
    people: people.map((joints, n) => {
      const person: PersonPose = { body: new Array<Keypoint | null>(BODY_KEYPOINTS.length).fill(null) };
      const seen = new Set<string>();
      for (const joint of joints) {
        const where = `person ${n + 1}, joint "${joint.name}"`;
        const meaning = parseJointName(joint.name);
        if (!meaning) throw new Error(`${where}: not a keypoint name (COCO-18 names such as "left_wrist", or "left_hand_0"…"right_hand_20")`);
        if (seen.has(joint.name)) throw new Error(`${where}: appears twice; delete or rename one`);
        seen.add(joint.name);
        if (!Number.isFinite(joint.x) || !Number.isFinite(joint.y)) throw new Error(`${where}: position is not a finite number`);
        const point: Keypoint = { x: joint.x / width, y: joint.y / height, confidence: 1 };
        if (meaning.part === 'body') person.body[meaning.index] = point;
        else {
          const key = meaning.part === 'left' ? 'leftHand' : 'rightHand';
          const hand = (person[key] ??= new Array<Keypoint | null>(HAND_KEYPOINT_COUNT).fill(null));
          hand[meaning.index] = point;
        }
      }
      return person;
    }),
  };
}
