import { describe, expect, it } from 'vitest';
import { cropPose, parsePoseJson, placePose, toPoseJson, type PoseDocument } from '../../src/control/openpose.js';

const body = (pairs: [number, number][]): number[] => pairs.flatMap(([x, y]) => (x === 0 && y === 0 ? [0, 0, 0] : [x, y, 1]));
const eighteen = (f: (i: number) => [number, number]): number[] => body(Array.from({ length: 18 }, (_, i) => f(i)));

describe('parsePoseJson', () => {
  it('reads pixel coordinates and normalises them to the canvas', () => {
    const doc = parsePoseJson({ canvas_width: 200, canvas_height: 100, people: [{ pose_keypoints_2d: eighteen((i) => [10 * (i + 1), 5 * (i + 1)]) }] });
    expect(doc.width).toBe(200);
    expect(doc.people[0]!.body[1]).toEqual({ x: 0.1, y: 0.1, confidence: 1 });
  });

  it('treats confidence 0 as missing, even at non-zero coordinates', () => {
    const kp = eighteen(() => [50, 50]);
    kp[2] = 0;
    const doc = parsePoseJson({ canvas_width: 100, canvas_height: 100, people: [{ pose_keypoints_2d: kp }] });
    expect(doc.people[0]!.body[0]).toBeNull();
    expect(doc.people[0]!.body[1]).not.toBeNull();
  });

  it('detects normalised input and keeps it', () => {
    const doc = parsePoseJson({ canvas_width: 64, canvas_height: 32, people: [{ pose_keypoints_2d: eighteen(() => [0.5, 0.25]) }] });
    expect(doc.people[0]!.body[3]).toEqual({ x: 0.5, y: 0.25, confidence: 1 });
  });

  it('takes the canvas from options when the JSON has none', () => {
    const doc = parsePoseJson({ people: [] }, { width: 8, height: 9 });
    expect([doc.width, doc.height]).toEqual([8, 9]);
  });

  it('honours an explicit coordinate space', () => {
    const doc = parsePoseJson({ canvas_width: 10, canvas_height: 10, people: [{ pose_keypoints_2d: eighteen(() => [1, 1]) }] }, { coordinates: 'pixel' });
    expect(doc.people[0]!.body[0]!.x).toBeCloseTo(0.1, 12);
  });

  it('reads hands and face and writes them back', () => {
    const hand = Array.from({ length: 21 }, (_, i) => [i + 1, i + 2, 0.9]).flat();
    const face = Array.from({ length: 70 }, (_, i) => [i + 3, i + 4, 0.8]).flat();
    const json = { canvas_width: 100, canvas_height: 100, people: [{ pose_keypoints_2d: eighteen((i) => [i + 5, i + 6]), hand_left_keypoints_2d: hand, hand_right_keypoints_2d: hand, face_keypoints_2d: face }] };
    const doc = parsePoseJson(json);
    expect(doc.people[0]!.leftHand).toHaveLength(21);
    expect(doc.people[0]!.face).toHaveLength(70);
    const back = toPoseJson(doc);
    expect(back.people[0]!.hand_left_keypoints_2d).toEqual(hand);
    expect(back.people[0]!.face_keypoints_2d).toEqual(face);
  });

  it('round-trips through normalised JSON', () => {
    const doc = parsePoseJson({ canvas_width: 300, canvas_height: 150, people: [{ pose_keypoints_2d: eighteen((i) => (i % 4 === 0 ? [0, 0] : [i * 7, i * 3])) }] });
    const again = parsePoseJson(toPoseJson(doc, 'normalized'), { coordinates: 'normalized' });
    expect(again).toEqual(doc);
  });

  it('maps OpenPose BODY_25 bodies to COCO-18 (mid-hip and feet dropped)', () => {
    const body25 = Array.from({ length: 25 }, (_, i) => [10 + i, 20 + i, 1]).flat();
    const doc = parsePoseJson({ canvas_width: 100, canvas_height: 100, people: [{ pose_keypoints_2d: body25 }] });
    const xs = doc.people[0]!.body.map((k) => Math.round(k!.x * 100) - 10);
    expect(xs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  });

  it('accepts JSON text', () => {
    expect(parsePoseJson('{"canvas_width": 4, "canvas_height": 4, "people": []}').people).toEqual([]);
  });

  it.each([
    [{ canvas_width: 10, canvas_height: 10 }, /people/],
    [{ canvas_width: 10, canvas_height: 10, people: [{ pose_keypoints_2d: [1, 2] }] }, /whole number of \[x, y, confidence\]/],
    [{ canvas_width: 10, canvas_height: 10, people: [{ pose_keypoints_2d: [1, 2, 1] }] }, /expected 18 points/],
    [{ canvas_width: 10, canvas_height: 10, people: [{ hand_left_keypoints_2d: [1, 2, 1] }] }, /hand_left_keypoints_2d: expected 21 points/],
    [{ canvas_width: -3, canvas_height: 10, people: [] }, /canvas_width/],
    [{ people: [{ pose_keypoints_2d: eighteen(() => [5, 5]) }] }, /no canvas_width/],
    [{ canvas_width: 10, canvas_height: 10, people: [{ pose_keypoints_2d: ['a'] }] }, /pose_keypoints_2d/],
    [[1, 2, 3], /\(root\)/],
  ])('rejects %j', (json, message) => {
    expect(() => parsePoseJson(json)).toThrow(message);
  });
});

describe('pose transforms', () => {
  const doc: PoseDocument = {
    width: 200,
    height: 100,
    people: [{ body: [{ x: 0.5, y: 0.5, confidence: 1 }, null, ...Array<null>(16).fill(null)], leftHand: [{ x: 0.25, y: 0.25, confidence: 0.5 }] }],
  };

  it('crops a rectangle onto a new canvas', () => {
    const out = cropPose(doc, { x: 50, y: 0, width: 100, height: 100 }, 512, 512);
    expect([out.width, out.height]).toEqual([512, 512]);
    expect(out.people[0]!.body[0]).toEqual({ x: 0.5, y: 0.5, confidence: 1 });
    expect(out.people[0]!.body[1]).toBeNull();
    expect(out.people[0]!.leftHand![0]).toEqual({ x: 0, y: 0.25, confidence: 0.5 });
  });

  it.each([
    ['contain', { x: 0.5, y: 0.5 }, { x: 0.25, y: 0.375 }],
    ['stretch', { x: 0.5, y: 0.5 }, { x: 0.25, y: 0.25 }],
  ] as const)('places the pose into a rectangle (%s)', (fit, nose, hand) => {
    const out = placePose(doc, { x: 0, y: 0, width: 400, height: 400 }, 400, 400, fit);
    expect(out.people[0]!.body[0]).toMatchObject(nose);
    expect(out.people[0]!.leftHand![0]).toMatchObject(hand);
  });

  it.each([
    [() => cropPose(doc, { x: 0, y: 0, width: 0, height: 5 }), /positive size/],
    [() => cropPose(doc, { x: 0, y: 0, width: 5, height: 5 }, 0, 5), /positive integers/],
    [() => placePose(doc, { x: Number.NaN, y: 0, width: 5, height: 5 }, 5, 5), /finite/],
  ])('rejects bad geometry %#', (f, message) => {
    expect(f).toThrow(message);
  });
});
