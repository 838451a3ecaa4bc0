// Pose detection on real photos, offline: MoveNet + CenterNet from @vladmandic/human on tfjs-wasm.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { orient } from '@kirie/core/image/decode';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PersonPose, PoseDocument } from '@kirie/core/control/openpose';
import { toRgb } from '@kirie/core/control/preprocess';
import type { RasterImage } from '@kirie/core/image/png';
import { readImage, readPose } from '../../src/control/files.js';
import { MoveNetDetector } from '../../src/control/movenet.js';
import { pck } from '../../src/control/pck.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const golden = join(import.meta.dirname, '../../../tests/golden/controlnet/images');
let detector: MoveNetDetector;
beforeAll(async () => {
  detector = await MoveNetDetector.create();
});

const at = (doc: PoseDocument, p: PersonPose, i: number): [number, number] | null => {
  const k = p.body[i];
  return k ? [k.x * doc.width, k.y * doc.height] : null;
};

/** Upright-body sanity: head above shoulders above hips above knees above ankles, on each side. */
function expectPlausible(doc: PoseDocument, p: PersonPose): void {
  const y = (i: number): number | undefined => at(doc, p, i)?.[1];
  const chains = [
    [0, 2, 8, 9, 10],
    [0, 5, 11, 12, 13],
  ];
  for (const chain of chains) {
    const ys = chain.map(y).filter((v): v is number => v !== undefined);
    for (let i = 1; i < ys.length; i++) expect(ys[i]!, `chain ${chain.join('-')}`).toBeGreaterThan(ys[i - 1]!);
  }
  for (const [eye, ear] of [[14, 16], [15, 17]] as const) {
    const e = y(eye);
    const s = y(2) ?? y(5);
    if (e !== undefined && s !== undefined) expect(e).toBeLessThan(s);
    if (y(ear) !== undefined && s !== undefined) expect(y(ear)!).toBeLessThan(s);
  }
  const neck = p.body[1];
  const [r, l] = [p.body[2], p.body[5]];
  if (neck && r && l) expect(neck.x).toBeCloseTo((r.x + l.x) / 2, 12);
}

function sideBySide(a: RasterImage, b: RasterImage): RasterImage {
  const [ra, rb] = [toRgb(a), toRgb(b)];
  const width = ra.width + rb.width;
  const height = Math.max(ra.height, rb.height);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    if (y < ra.height) data.set(ra.data.subarray(y * ra.width * 3, (y + 1) * ra.width * 3), y * width * 3);
    if (y < rb.height) data.set(rb.data.subarray(y * rb.width * 3, (y + 1) * rb.width * 3), (y * width + ra.width) * 3);
  }
  return { width, height, channels: 3, data };
}

describe('MoveNet pose detection (offline, wasm)', () => {
  it('finds the astronaut and agrees with the hand-annotated pose (PCK@0.2 of torso size)', async () => {
    const doc = await detector.detect(readImage(join(fixtures, 'astronaut.png')));
    expect(doc.people).toHaveLength(1);
    expectPlausible(doc, doc.people[0]!);
    const ref = readPose(join(fixtures, 'astronaut.pose.json'));
    const r = pck(doc, doc.people[0]!, ref, ref.people[0]!);
    console.log(`astronaut PCK@0.2 = ${r.matched}/${r.total} (threshold ${r.threshold.toFixed(1)} px)`);
    expect(r.pck).toBeGreaterThanOrEqual(0.75);
  });

  it('finds the astronaut in a sideways phone JPEG, turned upright by its EXIF orientation', async () => {
    // Stored rotated 90° counter-clockwise with EXIF orientation 6 ("rotate clockwise to display"), as phones do.
    const upright = toRgb(readImage(join(fixtures, 'astronaut.png')));
    const sideways = orient(upright, 8);
    const rgba = new Uint8Array(sideways.width * sideways.height * 4).fill(255);
    for (let i = 0; i < sideways.width * sideways.height; i++) rgba.set(sideways.data.subarray(i * 3, i * 3 + 3), i * 4);
    const plain = new Uint8Array(encodeJpeg({ width: sideways.width, height: sideways.height, data: rgba }, 95).data);
    const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0];
    const payload = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
    const app1 = [0xff, 0xe1, 0, payload.length + 2, ...payload];
    const file = join(mkdtempSync(join(tmpdir(), 'kirie-jpeg-')), 'astronaut-sideways.jpg');
    writeFileSync(file, new Uint8Array([...plain.subarray(0, 2), ...app1, ...plain.subarray(2)]));

    const photo = readImage(file);
    expect([photo.width, photo.height]).toEqual([upright.width, upright.height]);
    const doc = await detector.detect(photo);
    expect(doc.people).toHaveLength(1);
    expectPlausible(doc, doc.people[0]!);
    const ref = readPose(join(fixtures, 'astronaut.pose.json'));
    expect(pck(doc, doc.people[0]!, ref, ref.people[0]!).pck).toBeGreaterThanOrEqual(0.75);
  });

  it('finds the cameraman with his head where it is annotated', async () => {
    const doc = await detector.detect(readImage(join(fixtures, 'camera.png')));
    expect(doc.people).toHaveLength(1);
    const person = doc.people[0]!;
    expectPlausible(doc, person);
    const ref = readPose(join(fixtures, 'camera.pose.json'));
    for (const i of [0, 14, 16]) {
      const [d, e] = [at(doc, person, i), at(ref, ref.people[0]!, i)!];
      expect(d, `keypoint ${i}`).not.toBeNull();
      expect(Math.hypot(d![0] - e[0], d![1] - e[1]), `keypoint ${i}`).toBeLessThan(25);
    }
  });

  it('finds both people when the two photos stand side by side', async () => {
    const doc = await detector.detect(sideBySide(readImage(join(fixtures, 'astronaut.png')), readImage(join(fixtures, 'camera.png'))));
    expect(doc.people).toHaveLength(2);
    const noses = doc.people.map((p) => at(doc, p, 0)![0]).sort((a, b) => a - b);
    expect(noses[0]).toBeLessThan(512);
    expect(noses[1]).toBeGreaterThan(512);
    for (const p of doc.people) expectPlausible(doc, p);
  });

  it.each(['house', 'dog', 'bird'])('finds nobody in %s.png', async (name) => {
    const doc = await detector.detect(readImage(join(golden, `${name}.png`)));
    expect([doc.width, doc.height]).toEqual([readImage(join(golden, `${name}.png`)).width, readImage(join(golden, `${name}.png`)).height]);
    expect(doc.people).toHaveLength(0);
  });
});
