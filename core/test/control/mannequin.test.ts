import { describe, expect, it } from 'vitest';
import { BODY_KEYPOINTS } from '../../src/control/openpose.js';
import {
  aimJoint, DEFAULT_MANNEQUIN_CAMERA, hingeAxis, jointPositions, jointTurnedBy, limitRotation, MANNEQUIN_PRESETS, type MannequinPose, mirrorPose, PoseHistory, projectPose, projectScene, rotateJoint,
} from '../../src/control/mannequin.js';

const REST: MannequinPose = { position: [0, 0.95, 0], rotations: {} };
const close = (a: readonly number[], b: readonly number[], digits = 9) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, digits));
const kp = (name: string) => BODY_KEYPOINTS.indexOf(name as never);

describe('forward kinematics', () => {
  it('the rest pose stands on the ground, facing +z, its right side at −x', () => {
    const j = jointPositions(REST);
    close(j.neck!, [0, 1.5, 0]);
    close(j.right_shoulder!, [-0.19, 1.5, 0]);
    close(j.right_wrist!, [-0.19, 0.93, 0]);
    close(j.left_ankle!, [0.1, 0.07, 0]);
    expect(j.nose![2]).toBeGreaterThan(0);
  });

  it.each([
    // [joint, rotation, moved joint, where it goes]
    ['right_shoulder', [0, 0, -90], 'right_wrist', [-0.19 - 0.57, 1.5, 0]], // arm raised sideways to shoulder height
    ['left_shoulder', [0, 0, 90], 'left_wrist', [0.19 + 0.57, 1.5, 0]],
    ['right_shoulder', [-90, 0, 0], 'right_wrist', [-0.19, 1.5, 0.57]], // arm straight forward
    ['right_elbow', [-90, 0, 0], 'right_wrist', [-0.19, 1.2, 0.27]], // forearm forward
    ['right_knee', [90, 0, 0], 'right_ankle', [-0.1, 0.5, -0.43]], // shin backward
    ['right_hip', [-90, 0, 0], 'right_knee', [-0.1, 0.95, 0.45]], // thigh forward
  ])('turning %s by %j moves %s to %j', (joint, euler, moved, where) => {
    close(jointPositions(rotateJoint(REST, joint, euler as [number, number, number]))[moved]!, where);
  });

  it('joint limits: elbows and knees do not bend the wrong way, wrists do not turn, angles are clamped per axis', () => {
    expect(limitRotation('right_elbow', [45, 30, 0])).toEqual([0, 0, 0]);
    expect(limitRotation('right_knee', [-30, 0, 0])).toEqual([0, 0, 0]);
    expect(limitRotation('right_knee', [200, 0, 0])).toEqual([150, 0, 0]);
    expect(limitRotation('right_wrist', [10, 10, 10])).toEqual([0, 0, 0]);
    // A hyper-extended elbow does not move the wrist.
    close(jointPositions(rotateJoint(REST, 'right_elbow', [60, 0, 0])).right_wrist!, [-0.19, 0.93, 0]);
    expect(() => limitRotation('tail', [0, 0, 0])).toThrow('no joint "tail"');
    expect(() => limitRotation('neck', [Number.NaN, 0, 0])).toThrow('three finite angles');
  });

  it('mirroring swaps left and right: the mirrored figure\'s joints are the original\'s reflected in x = 0', () => {
    const pose = MANNEQUIN_PRESETS.reaching!;
    const a = jointPositions(pose);
    const b = jointPositions(mirrorPose(pose));
    const swap = (n: string) => (n.startsWith('left_') ? `right_${n.slice(5)}` : n.startsWith('right_') ? `left_${n.slice(6)}` : n);
    for (const name of Object.keys(a)) close(b[swap(name)]!, [-a[name]![0], a[name]![1], a[name]![2]]);
  });

  it('every preset keeps its feet at or above the ground and differs from the rest pose', () => {
    const rest = jointPositions(REST);
    for (const [name, pose] of Object.entries(MANNEQUIN_PRESETS)) {
      const j = jointPositions(pose);
      expect(Math.min(...Object.values(j).map((p) => p[1])), name).toBeGreaterThan(-1e-9);
      expect(Object.keys(j).some((k) => Math.hypot(j[k]![0] - rest[k]![0], j[k]![1] - rest[k]![1], j[k]![2] - rest[k]![2]) > 0.05), name).toBe(true);
    }
    expect(Object.keys(MANNEQUIN_PRESETS)).toEqual(['standing', 'walking', 'running', 'sitting', 'jumping', 'reaching', 'lying']);
  });
});

describe('dragging a bone\'s end (aimJoint)', () => {
  it.each([
    // [dragged handle, turned joint, target, where the handle lands]
    ['right_elbow', 'right_shoulder', [-0.19, 1.5, 2], [-0.19, 1.5, 0.3]], // the upper arm points forward
    ['left_elbow', 'left_shoulder', [3, 1.5, 0], [0.19 + 0.3, 1.5, 0]], // raised sideways
    ['right_knee', 'right_hip', [-0.1, 0.95, 1], [-0.1, 0.95, 0.45]], // thigh forward
    ['neck', 'pelvis', [0, 0.95, 1], [0, 0.95, 0.55]], // the trunk bows forward
  ])('dragging %s turns %s: aimed at %j it lands at %j', (handle, joint, target, lands) => {
    expect(jointTurnedBy(handle)).toBe(joint);
    close(jointPositions(aimJoint(REST, joint, target as [number, number, number]))[handle]!, lands);
  });

  it('the aim stays within the joint\'s limits, keeps the distance of the bone, and keeps the parent\'s turn', () => {
    // An elbow cannot bend backwards: aiming the forearm behind leaves it straight down.
    close(jointPositions(aimJoint(REST, 'right_elbow', [-0.19, 1.2, -1]))['right_wrist']!, [-0.19, 0.93, 0]);
    // Aimed at a point the bone cannot reach, it points there (bones keep their length).
    const bent = jointPositions(aimJoint(REST, 'right_elbow', [-0.19, 1.2, 5]));
    close(bent['right_wrist']!, [-0.19, 1.2, 0.27]);
    // Aiming after the shoulder turned the arm forward works in the turned frame.
    const forward = rotateJoint(REST, 'right_shoulder', [-90, 0, 0]);
    const j = jointPositions(aimJoint(forward, 'right_elbow', [-0.19, 3, 0.3]));
    close(j['right_wrist']!, [-0.19, 1.5 + 0.27, 0.3]);
    expect(jointTurnedBy('right_wrist')).toBe('right_elbow');
    // A hinge bends by the target's angle around its axis, wherever off its plane the target lies.
    close(jointPositions(aimJoint(REST, 'left_elbow', [2, 1.2, 0.5]))['left_wrist']!, [0.19, 1.2, 0.27]);
    close(jointPositions(aimJoint(REST, 'right_knee', [-0.1, 0.5, -3]))['right_ankle']!, [-0.1, 0.5, -0.43]);
    close(hingeAxis(REST, 'left_knee')!, [1, 0, 0]);
    close(hingeAxis(rotateJoint(REST, 'left_hip', [0, 30, 0]), 'left_knee')!, [Math.cos(Math.PI / 6), 0, -0.5]); // the thigh turned inwards
    expect(hingeAxis(REST, 'left_shoulder')).toBeNull();
    expect(jointTurnedBy('right_shoulder')).toBeNull(); // the neck aims the head, not the shoulders
    expect(jointTurnedBy('pelvis')).toBeNull();
    expect(() => aimJoint(REST, 'right_wrist', [0, 0, 0])).toThrow('is not a joint that can be aimed');
  });
});

describe('camera projection to OpenPose keypoints', () => {
  // A camera 3 m in front of the figure at neck height, looking at the neck; 90° vertical field of view.
  const camera = { position: [0, 1.5, 3] as const, target: [0, 1.5, 0] as const, fov: 90 };

  it('the point looked at lands in the middle; perspective: x = 0.5 + (X / depth) / aspect / 2', () => {
    const doc = projectPose([REST], camera, 512, 512);
    const neck = doc.people[0]!.body[kp('neck')]!;
    close([neck.x, neck.y], [0.5, 0.5]);
    // The right shoulder: 0.19 m to the image's left at depth 3, tan(45°) = 1.
    close([doc.people[0]!.body[kp('right_shoulder')]!.x], [0.5 - 0.19 / 3 / 2]);
    // Lower joints lie lower in the image (y down).
    expect(doc.people[0]!.body[kp('right_ankle')]!.y).toBeCloseTo(0.5 + (1.5 - 0.07) / 3 / 2, 9);
    // A wide image: the same point moves in by the aspect ratio.
    close([projectPose([REST], camera, 1024, 512).people[0]!.body[kp('right_shoulder')]!.x], [0.5 - 0.19 / 3 / 2 / 2]);
  });

  it('a nearer joint spreads further from the centre (perspective), a joint behind the camera is missing, an off-screen one keeps its place', () => {
    const near = projectPose([{ ...REST, position: [0, 0.95, 2] }], camera, 512, 512).people[0]!.body[kp('right_shoulder')]!;
    expect(near.x).toBeCloseTo(0.5 - 0.19 / 1 / 2, 9);
    const behind = projectPose([{ ...REST, position: [0, 0.95, 3.5] }], camera, 512, 512).people[0]!;
    expect(behind.body[kp('neck')]).toBeNull();
    const aside = projectPose([{ ...REST, position: [5, 0.95, 0] }], camera, 512, 512).people[0]!.body[kp('neck')]!;
    expect(aside.x).toBeCloseTo(0.5 + 5 / 3 / 2, 9);
    expect(aside.x).toBeGreaterThan(1);
  });

  it('a drag on a joint moves the projected keypoints below it, and only those', () => {
    const before = projectPose([REST], camera, 512, 512).people[0]!.body;
    const after = projectPose([rotateJoint(REST, 'left_elbow', [-90, 0, 0])], camera, 512, 512).people[0]!.body;
    const moved = BODY_KEYPOINTS.filter((_, i) => Math.hypot(after[i]!.x - before[i]!.x, after[i]!.y - before[i]!.y) > 1e-9);
    expect(moved).toEqual(['left_wrist']);
    // Forearm forward, towards the camera: the wrist rises to elbow height minus perspective and spreads outwards.
    expect(after[kp('left_wrist')]!.y).toBeLessThan(before[kp('left_wrist')]!.y);
  });

  it('the default camera sees a standing figure whole, upright, in the middle of a portrait image', () => {
    const person = projectScene({ figures: [MANNEQUIN_PRESETS.standing!], camera: DEFAULT_MANNEQUIN_CAMERA }, 512, 768).people[0]!.body;
    for (const p of person) expect(p!.x > 0.2 && p!.x < 0.8 && p!.y > 0.05 && p!.y < 0.95).toBe(true);
    expect(person[kp('nose')]!.y).toBeLessThan(person[kp('left_ankle')]!.y);
    // Facing the camera: its right shoulder on the image's left.
    expect(person[kp('right_shoulder')]!.x).toBeLessThan(person[kp('left_shoulder')]!.x);
  });

  it('several figures become several people; bad sizes and cameras are refused', () => {
    expect(projectPose([REST, MANNEQUIN_PRESETS.walking!], camera, 64, 64).people).toHaveLength(2);
    expect(() => projectPose([REST], camera, 0, 64)).toThrow('positive integers');
    expect(() => projectPose([REST], { ...camera, fov: 180 }, 64, 64)).toThrow('fov');
    expect(() => projectPose([REST], { ...camera, target: camera.position }, 64, 64)).toThrow('looks at its own position');
  });
});

describe('undo', () => {
  it('undo and redo walk the pushed poses; a push after undo drops the redo branch', () => {
    const h = new PoseHistory(1);
    h.push(2);
    h.push(3);
    expect(h.undo()).toBe(2);
    expect(h.undo()).toBe(1);
    expect(h.undo()).toBe(1);
    expect(h.redo()).toBe(2);
    h.push(4);
    expect(h.redo()).toBe(4);
    expect(h.current).toBe(4);
  });
});
