// ControlNet preprocessing speed: canny against OpenCV itself (opencv.js, the same C++ compiled to
// WebAssembly, in this process), the OpenPose render, and offline pose detection.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { canny } from '@kirie/core/control/canny';
import { parsePoseJson } from '@kirie/core/control/openpose';
import { toRgb, type RgbImage } from '@kirie/core/control/preprocess';
import { renderPose } from '@kirie/core/control/render';
import { decodePng } from '@kirie/core/image/png';
import { parsePythonJson } from '@kirie/core/io/json';
import { MoveNetDetector } from '../control/movenet.js';
import type { BenchSuite } from './types.js';
import { median } from './stats.js';

const GOLDEN = fileURLToPath(new URL('../../tests/golden/controlnet/', import.meta.url));
const PHOTO = fileURLToPath(new URL('../test/control/fixtures/astronaut.png', import.meta.url));

function time(runs: number, f: () => unknown): number {
  f();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    f();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

async function timeAsync(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await f();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

/** The photo tiled to `size`×`size`, so both sizes time real image content. */
function tiled(src: RgbImage, size: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = ((y % src.height) * src.width + (x % src.width)) * 3;
      data.set(src.data.subarray(s, s + 3), (y * size + x) * 3);
    }
  }
  return { width: size, height: size, channels: 3, data };
}

// opencv.js's module object is a thenable resolving to itself: it must not be returned from an async function.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function loadOpenCv(): Promise<{ cv: any }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cv = createRequire(import.meta.url)('@techstark/opencv-js') as any;
  if (!cv.Mat) await new Promise<void>((resolve) => (cv.onRuntimeInitialized = resolve));
  return { cv };
}

export const controlSuite: BenchSuite = {
  name: 'control',
  description: 'ControlNet preprocessing: canny vs OpenCV (opencv.js), OpenPose render, MoveNet pose detection',
  async run(report) {
    const { cv } = await loadOpenCv();
    const house = toRgb(decodePng(readFileSync(`${GOLDEN}images/house.png`)));
    for (const size of [512, 1024]) {
      const image = tiled(house, size);
      const src = cv.matFromArray(size, size, cv.CV_8UC3, image.data);
      const dst = new cv.Mat();
      const opencv = time(15, () => cv.Canny(src, dst, 100, 200, 3, false));
      src.delete();
      dst.delete();
      const ours = time(15, () => canny(image, { low: 100, high: 200 }));
      report({ name: `canny ${size}×${size} RGB (100/200)`, value: ours, unit: 'ms', baseline: { name: 'opencv.js cv.Canny', value: opencv } });
    }

    const pose = parsePoseJson(parsePythonJson(readFileSync(`${GOLDEN}openpose/pose_single.json`, 'utf8')));
    report({ name: 'renderPose 512×512, 1 person (body)', value: time(50, () => renderPose(pose)), unit: 'ms', target: 'a few ms' });
    const two = parsePoseJson(parsePythonJson(readFileSync(`${GOLDEN}openpose/pose_two_people.json`, 'utf8')));
    report({ name: 'renderPose 768×512, 2 people (body)', value: time(50, () => renderPose(two)), unit: 'ms' });

    const loadStart = performance.now();
    const detector = await MoveNetDetector.create();
    report({ name: 'pose detector load (MoveNet + CenterNet, tfjs-wasm)', value: performance.now() - loadStart, unit: 'ms' });
    const photo = decodePng(readFileSync(PHOTO));
    report({ name: 'detect poses, 512×512 photo, 1 person', value: await timeAsync(5, () => detector.detect(photo)), unit: 'ms' });
  },
};
