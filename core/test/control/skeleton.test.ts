import { describe, expect, it } from 'vitest';
import { BODY_KEYPOINTS, parsePoseJson, toPoseJson, type PoseDocument } from '../../src/control/openpose.js';
import { POSE_PRESET_NAMES, posePreset } from '../../src/control/pose-presets.js';
import { COLORS, HAND_POINT_COLOR } from '../../src/control/render.js';
import { parseJointName, poseFromJoints, skeletonFromPose } from '../../src/control/skeleton.js';
import {
  type Affine, applyAffine, centreInFrame, containTransform, IDENTITY, invertAffine, lineBetween, multiplyAffine, transformSkeleton,
} from '../../src/control/skeleton-geometry.js';

const rotation = (deg: number, x = 0, y = 0): Affine => {
  const r = (deg * Math.PI) / 180;
  return [[Math.cos(r), -Math.sin(r), x], [Math.sin(r), Math.cos(r), y]];
};

/** Joints back as a host would report them: name and frame position only. */
const readBack = (doc: PoseDocument) => skeletonFromPose(doc).people.map((p) => p.joints.map(({ name, x, y }) => ({ name, x, y })));

describe('skeletonFromPose', () => {
  it('names each present keypoint and colours joints and limbs as the annotator does', () => {
    const s = skeletonFromPose(posePreset('standing'));
    const person = s.people[0]!;
    expect(person.joints.map((j) => j.name)).toEqual([...BODY_KEYPOINTS]);
    expect(person.joints.find((j) => j.name === 'neck')).toEqual({ name: 'neck', x: 256, y: 190, color: COLORS[1] });
    // util.py's first limb is neck → right shoulder in red; the ear–shoulder pairs are not drawn: 17 limbs.
    expect(person.limbs[0]).toEqual({ from: 'neck', to: 'right_shoulder', color: [255, 0, 0] });
    expect(person.limbs).toHaveLength(17);
    expect(person.limbs.at(-1)).toEqual({ from: 'left_eye', to: 'left_ear', color: COLORS[16] });
  });

  it('leaves out hidden keypoints and every limb touching them', () => {
    const doc = posePreset('standing');
    doc.people[0]!.body[BODY_KEYPOINTS.indexOf('right_elbow')] = null;
    const person = skeletonFromPose(doc).people[0]!;
    expect(person.joints.some((j) => j.name === 'right_elbow')).toBe(false);
    expect(person.limbs.filter((l) => l.from === 'right_elbow' || l.to === 'right_elbow')).toEqual([]);
    expect(person.limbs).toHaveLength(15);
  });

  it('draws hands as numbered joints with the annotator\'s hand colours', () => {
    const hand = Array.from({ length: 21 }, (_, i) => ({ x: i / 64, y: 0.5, confidence: 0.8 }));
    const doc: PoseDocument = { width: 128, height: 200, people: [{ body: new Array(18).fill(null), leftHand: hand }] };
    const person = skeletonFromPose(doc).people[0]!;
    expect(person.joints).toHaveLength(21);
    expect(person.joints[20]).toEqual({ name: 'left_hand_20', x: 40, y: 100, color: HAND_POINT_COLOR });
    expect(person.limbs).toHaveLength(20);
    expect(person.limbs[0]).toMatchObject({ from: 'left_hand_0', to: 'left_hand_1', color: [255, 0, 0] });
  });
});

describe('poseFromJoints', () => {
  it.each(POSE_PRESET_NAMES)('preset %s → joints → OpenPose JSON is the preset', (name) => {
    const preset = posePreset(name);
    const back = poseFromJoints(readBack(preset), preset.width, preset.height);
    expect(toPoseJson(back)).toEqual(toPoseJson(preset));
  });

  it('round-trips several people with hands and hidden points through JSON', () => {
    const json = {
      canvas_width: 640,
      canvas_height: 480,
      people: [
        { pose_keypoints_2d: Array.from({ length: 18 }, (_, i) => (i === 4 ? [0, 0, 0] : [100 + i, 200 + i, 1])).flat(), hand_right_keypoints_2d: Array.from({ length: 21 }, (_, i) => (i === 3 ? [0, 0, 0] : [50 + i, 60, 1])).flat() },
        { pose_keypoints_2d: Array.from({ length: 18 }, (_, i) => [400 + i, 100 + 2 * i, 1]).flat() },
      ],
    };
    const doc = parsePoseJson(json);
    expect(toPoseJson(poseFromJoints(readBack(doc), 640, 480))).toEqual(json);
  });

  it('moves exactly the keypoint whose joint moved', () => {
    const preset = posePreset('standing');
    const joints = readBack(preset);
    joints[0]!.find((j) => j.name === 'left_wrist')!.x += 40;
    const before = toPoseJson(preset).people[0]!.pose_keypoints_2d;
    const after = toPoseJson(poseFromJoints(joints, 512, 768)).people[0]!.pose_keypoints_2d;
    const changed = after.flatMap((v, i) => (v !== before[i] ? [i] : []));
    expect(changed).toEqual([3 * BODY_KEYPOINTS.indexOf('left_wrist')]);
    expect(after[3 * 7]).toBe(330 + 40);
  });

  it.each([
    [[{ name: 'tail', x: 1, y: 1 }], 'person 1, joint "tail": not a keypoint name'],
    [[{ name: 'left_hand_21', x: 1, y: 1 }], 'not a keypoint name'],
    [[{ name: 'left_hand_01', x: 1, y: 1 }], 'not a keypoint name'],
    [[{ name: 'nose', x: 1, y: 1 }, { name: 'nose', x: 2, y: 2 }], 'joint "nose": appears twice'],
    [[{ name: 'neck', x: Number.NaN, y: 1 }], 'joint "neck": position is not a finite number'],
  ])('refuses %j', (joints, message) => {
    expect(() => poseFromJoints([joints], 100, 100)).toThrow(message);
  });

  it('refuses a frame size that is no canvas', () => {
    expect(() => poseFromJoints([], 10.5, 10)).toThrow('frame size must be positive integers');
  });
});

describe('joint names', () => {
  it.each([
    ['nose', { part: 'body', index: 0 }],
    ['left_ear', { part: 'body', index: 17 }],
    ['right_hand_0', { part: 'right', index: 0 }],
    ['left_hand_20', { part: 'left', index: 20 }],
    ['Nose', null],
    ['right_hand_-1', null],
  ])('%s', (name, meaning) => expect(parseJointName(name)).toEqual(meaning));
});

describe('transforms', () => {
  const close = (p: { x: number; y: number }, x: number, y: number) => {
    expect(p.x).toBeCloseTo(x, 9);
    expect(p.y).toBeCloseTo(y, 9);
  };

  it.each([
    // [ellipse's absolute transform, its size, frame's absolute transform, expected centre on the frame]
    ['unrotated, frame at the origin', [[1, 0, 10], [0, 1, 20]] as Affine, 8, 8, IDENTITY, 14, 24],
    ['frame elsewhere on the page', [[1, 0, 110], [0, 1, 220]] as Affine, 8, 8, [[1, 0, 100], [0, 1, 200]] as Affine, 14, 24],
    // Rotated 90° (x axis pointing down): the box's centre (4, 2) lands at (10 - 2, 20 + 4).
    ['rotated 90°', rotation(90, 10, 20), 8, 4, IDENTITY, 8, 24],
    ['inside a rotated frame', multiplyAffine(rotation(30, 50, 50), [[1, 0, 10], [0, 1, 20]]), 8, 8, rotation(30, 50, 50), 14, 24],
  ])('centre: %s', (_, absolute, w, h, frame, x, y) => close(centreInFrame(absolute, w, h, frame), x, y));

  it('composes and inverts', () => {
    const t = multiplyAffine(rotation(37, 5, -3), rotation(-12, 40, 7));
    const p = { x: 13, y: -8 };
    close(applyAffine(invertAffine(t), applyAffine(t, p)), 13, -8);
    close(applyAffine(t, p), applyAffine(rotation(37, 5, -3), applyAffine(rotation(-12, 40, 7), p)).x, applyAffine(rotation(37, 5, -3), applyAffine(rotation(-12, 40, 7), p)).y);
  });

  it.each([
    // [from, to, expected transform]: the pose canvas fitted into the frame, centred, aspect kept.
    [{ width: 512, height: 768 }, { width: 512, height: 768 }, [[1, 0, 0], [0, 1, 0]]],
    [{ width: 512, height: 768 }, { width: 1024, height: 768 }, [[1, 0, 256], [0, 1, 0]]],
    [{ width: 100, height: 100 }, { width: 300, height: 600 }, [[3, 0, 0], [0, 3, 150]]],
  ])('contain %j in %j', (from, to, expected) => expect(containTransform(from, to)).toEqual(expected));

  it('moves a skeleton\'s joints and keeps its limbs', () => {
    const s = skeletonFromPose(posePreset('standing'));
    const moved = transformSkeleton(s, containTransform(s, { width: 1024, height: 768 }), 1024, 768);
    expect(moved.people[0]!.joints[1]).toEqual({ name: 'neck', x: 512, y: 190, color: COLORS[1] });
    expect(moved.people[0]!.limbs).toBe(s.people[0]!.limbs);
  });

  it('refuses a flattening transform', () => {
    expect(() => invertAffine([[1, 2, 0], [2, 4, 0]])).toThrow('cannot be inverted');
  });

  it.each([
    [{ x: 0, y: 0 }, { x: 10, y: 0 }, 10],
    [{ x: 5, y: 5 }, { x: 5, y: 25 }, 20],
    [{ x: 3, y: 4 }, { x: 0, y: 0 }, 5],
  ])('a line from %j to %j', (from, to, length) => {
    const line = lineBetween(from, to);
    expect(line.length).toBeCloseTo(length, 12);
    close(applyAffine(line.transform, { x: 0, y: 0 }), from.x, from.y);
    close(applyAffine(line.transform, { x: line.length, y: 0 }), to.x, to.y);
    // Unit axes: Figma's relativeTransform never scales (developers.figma.com/docs/plugins/api/properties/nodes-relativetransform).
    expect(Math.hypot(line.transform[0][0], line.transform[1][0])).toBeCloseTo(1, 12);
  });
});
