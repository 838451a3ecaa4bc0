// Verify kind for ControlNet preprocessor cases (tests/golden/controlnet/cases.json and any folder in its
// format): canny edges and OpenPose renders, compared pixel for pixel with tolerance 0. maxAbsDiff is the
// largest per-channel difference (0–255); the detail line also counts the differing pixels.
import { join } from 'node:path';
import { canny } from '@kirie/core/control/canny';
import { renderPose } from '@kirie/core/control/render';
import type { RasterImage } from '@kirie/core/image/png';
import { readImage, readPose } from '../../control/files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';

interface CannyItem {
  input: string;
  expected: string;
  low: number;
  high: number;
}

interface PoseItem {
  pose: string;
  expected: string;
}

function itemsOf<T>(json: Record<string, unknown>, section: string, keys: string[]): T[] {
  const s = json[section] as { items?: unknown } | undefined;
  if (!s || !Array.isArray(s.items)) return [];
  return s.items.filter((it): it is T => typeof it === 'object' && it !== null && keys.every((k) => k in it));
}

function compare(name: string, actual: RasterImage, expected: RasterImage): CaseResult {
  const base = { case: name, kind: 'controlnet', tolerance: 0 };
  if (actual.width !== expected.width || actual.height !== expected.height || actual.channels !== expected.channels) {
    const shape = (i: RasterImage): string => `${i.width}×${i.height}×${i.channels}`;
    return { ...base, maxAbsDiff: Number.POSITIVE_INFINITY, pass: false, detail: `shape ${shape(actual)}, expected ${shape(expected)}` };
  }
  let max = 0;
  let pixels = 0;
  const cn = actual.channels;
  for (let p = 0; p < actual.width * actual.height; p++) {
    let differs = false;
    for (let c = 0; c < cn; c++) {
      const d = Math.abs(actual.data[p * cn + c]! - expected.data[p * cn + c]!);
      if (d > 0) differs = true;
      if (d > max) max = d;
    }
    if (differs) pixels++;
  }
  return { ...base, maxAbsDiff: max, pass: max === 0, detail: `${pixels} of ${actual.width * actual.height} pixels differ` };
}

export const controlnetKind: VerifyKind = {
  kind: 'controlnet',
  matches: (file: CaseFile) =>
    itemsOf<CannyItem>(file.json, 'canny', ['input', 'expected', 'low', 'high']).length > 0 ||
    itemsOf<PoseItem>(file.json, 'openpose', ['pose', 'expected']).length > 0,
  async *run(file: CaseFile) {
    for (const item of itemsOf<CannyItem>(file.json, 'canny', ['input', 'expected', 'low', 'high'])) {
      const name = `controlnet/${item.expected}`;
      try {
        const edges = canny(readImage(join(file.dir, item.input)), { low: item.low, high: item.high });
        yield compare(name, edges, readImage(join(file.dir, item.expected)));
      } catch (err) {
        yield { case: name, kind: 'controlnet', maxAbsDiff: Number.NaN, tolerance: 0, pass: false, detail: `failed: ${(err as Error).message}` };
      }
    }
    for (const item of itemsOf<PoseItem>(file.json, 'openpose', ['pose', 'expected'])) {
      const name = `controlnet/${item.expected}`;
      try {
        const image = renderPose(readPose(join(file.dir, item.pose)));
        yield compare(name, image, readImage(join(file.dir, item.expected)));
      } catch (err) {
        yield { case: name, kind: 'controlnet', maxAbsDiff: Number.NaN, tolerance: 0, pass: false, detail: `failed: ${(err as Error).message}` };
      }
    }
  },
};
