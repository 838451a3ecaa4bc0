// Offline body-pose detection: MoveNet (single-pose lightning) for the keypoints and CenterNet for person
// boxes, both shipped inside @vladmandic/human's npm package, run on TensorFlow.js with its WebAssembly
// backend (no native download). Several people are found by running MoveNet on each person box.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { PoseDetector } from '@kirie/core/control/detector';
import type { Keypoint, PersonPose, PoseDocument } from '@kirie/core/control/openpose';
import { toRgb } from '@kirie/core/control/preprocess';
import type { RasterImage } from '@kirie/core/image/png';

export interface MoveNetOptions {
  /** Folder with movenet-lightning.json/.bin and centernet.json/.bin (default: the one in @vladmandic/human). */
  modelDir?: string;
  /** A keypoint below this score is reported missing (default 0.3). */
  keypointScore?: number;
  /** A person needs this mean score over its 17 MoveNet keypoints (default 0.3). */
  personScore?: number;
  /** CenterNet person boxes below this score are ignored (default 0.3). */
  boxScore?: number;
  maxPeople?: number;
}

// MoveNet's 17 COCO keypoints → OpenPose COCO-18 (index 1, the neck, is the shoulders' midpoint).
const TO_COCO18 = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3];
const MOVENET_SIZE = 192;
const PERSON_CLASS = 0;

export function defaultModelDir(): string {
  const humanMain = createRequire(import.meta.url).resolve('@vladmandic/human');
  return join(dirname(humanMain), '../models');
}

async function loadModel(dir: string, name: string): Promise<GraphModel> {
  const jsonPath = join(dir, `${name}.json`);
  let json: { modelTopology: unknown; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; signature?: unknown; format?: string };
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8')) as typeof json;
  } catch (err) {
    throw new Error(`pose model ${jsonPath}: ${(err as Error).message}`);
  }
  const buffers = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const weightData = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.length;
  }
  return loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as object,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: weightData.buffer,
      format: json.format,
      signature: json.signature as object,
    }),
  );
}

interface Box {
  x: number;
  y: number;
  size: number;
}

export class MoveNetDetector implements PoseDetector {
  readonly name = 'movenet-lightning+centernet';
  private constructor(
    private readonly movenet: GraphModel,
    private readonly centernet: GraphModel,
    private readonly options: Required<Omit<MoveNetOptions, 'modelDir'>>,
  ) {}

  static async create(options: MoveNetOptions = {}): Promise<MoveNetDetector> {
    if (tf.getBackend() !== 'wasm') {
      if (!(await tf.setBackend('wasm'))) throw new Error('pose detection: the TensorFlow.js wasm backend failed to start');
    }
    await tf.ready();
    const dir = options.modelDir ?? defaultModelDir();
    const [movenet, centernet] = await Promise.all([loadModel(dir, 'movenet-lightning'), loadModel(dir, 'centernet')]);
    return new MoveNetDetector(movenet, centernet, {
      keypointScore: options.keypointScore ?? 0.3,
      personScore: options.personScore ?? 0.3,
      boxScore: options.boxScore ?? 0.3,
      maxPeople: options.maxPeople ?? 10,
    });
  }

  async detect(image: RasterImage): Promise<PoseDocument> {
    const rgb = toRgb(image);
    const { width: W, height: H } = rgb;
    const pixels = tf.tensor3d(rgb.data, [H, W, 3], 'int32');
    try {
      const boxes = await this.personBoxes(pixels, W, H);
      // No person box: the whole picture (as a square) may still hold one person CenterNet missed.
      if (boxes.length === 0) boxes.push({ x: W / 2, y: H / 2, size: Math.max(W, H) });
      const people: PersonPose[] = [];
      for (const box of boxes) {
        const person = await this.poseIn(pixels, box, W, H);
        if (person) people.push(person);
      }
      return { width: W, height: H, people };
    } finally {
      pixels.dispose();
    }
  }

  /** CenterNet detections as square crops around each person (1.25× the longer side, as MoveNet likes). */
  private async personBoxes(pixels: tf.Tensor3D, W: number, H: number): Promise<Box[]> {
    const size = 512;
    const detections = tf.tidy(() => {
      const input = tf.image.resizeBilinear(tf.expandDims(tf.cast(pixels, 'float32'), 0) as tf.Tensor4D, [size, size]);
      return this.centernet.execute(input, 'tower_0/detections') as tf.Tensor;
    });
    const rows = (await detections.array()) as number[][][];
    detections.dispose();
    const found = rows[0]!
      .filter((r) => r[5] === PERSON_CLASS && r[4]! >= this.options.boxScore)
      .map((r) => ({ x1: (r[0]! / size) * W, y1: (r[1]! / size) * H, x2: (r[2]! / size) * W, y2: (r[3]! / size) * H, score: r[4]! }))
      .sort((a, b) => b.score - a.score);
    const kept: typeof found = [];
    for (const b of found) if (kept.every((k) => iou(k, b) < 0.4) && kept.length < this.options.maxPeople) kept.push(b);
    return kept.map((b) => ({ x: (b.x1 + b.x2) / 2, y: (b.y1 + b.y2) / 2, size: Math.max(b.x2 - b.x1, b.y2 - b.y1) * 1.25 }));
  }

  private async poseIn(pixels: tf.Tensor3D, box: Box, W: number, H: number): Promise<PersonPose | null> {
    const y1 = (box.y - box.size / 2) / (H - 1);
    const x1 = (box.x - box.size / 2) / (W - 1);
    const y2 = (box.y + box.size / 2) / (H - 1);
    const x2 = (box.x + box.size / 2) / (W - 1);
    const out = tf.tidy(() => {
      const batch = tf.expandDims(tf.cast(pixels, 'float32'), 0) as tf.Tensor4D;
      const crop = tf.image.cropAndResize(batch, [[y1, x1, y2, x2]], [0], [MOVENET_SIZE, MOVENET_SIZE], 'bilinear', 0);
      return this.movenet.execute(tf.cast(crop, 'int32')) as tf.Tensor;
    });
    const kps = ((await out.array()) as number[][][][])[0]![0]!;
    out.dispose();
    const mean = kps.reduce((s, k) => s + k[2]!, 0) / kps.length;
    if (mean < this.options.personScore) return null;
    const point = (k: number[]): Keypoint | null =>
      k[2]! >= this.options.keypointScore ? { x: (box.x - box.size / 2 + k[1]! * box.size) / W, y: (box.y - box.size / 2 + k[0]! * box.size) / H, confidence: k[2]! } : null;
    const body = TO_COCO18.map((i) => (i < 0 ? null : point(kps[i]!)));
    const [r, l] = [body[2], body[5]];
    if (r && l) body[1] = { x: (r.x + l.x) / 2, y: (r.y + l.y) / 2, confidence: Math.min(r.confidence, l.confidence) };
    return { body };
  }
}

function iou(a: { x1: number; y1: number; x2: number; y2: number }, b: { x1: number; y1: number; x2: number; y2: number }): number {
  const iw = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const ih = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = iw * ih;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}
