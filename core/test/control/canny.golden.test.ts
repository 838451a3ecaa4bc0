import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../src/image/png.js';
import { canny } from '../../src/control/canny.js';

const root = join(import.meta.dirname, '../../../tests/golden/controlnet');
interface CannyItem { input: string; expected: string; low: number; high: number; edge_pixels: number }
const items = (JSON.parse(readFileSync(join(root, 'cases.json'), 'utf8')) as { canny: { items: CannyItem[] } }).canny.items;

describe('canny matches cv2.Canny (OpenCV 4.6.0) pixel for pixel', () => {
  it.each(items.map((c) => [c.expected, c] as const))('%s', (_name, c) => {
    const image = decodePng(readFileSync(join(root, c.input)));
    const expected = decodePng(readFileSync(join(root, c.expected)));
    const edges = canny(image, { low: c.low, high: c.high });
    expect([edges.width, edges.height]).toEqual([expected.width, expected.height]);
    let differing = 0;
    let count = 0;
    for (let i = 0; i < edges.data.length; i++) {
      if (edges.data[i] !== expected.data[i]) differing++;
      if (edges.data[i] === 255) count++;
    }
    expect(differing).toBe(0);
    expect(count).toBe(c.edge_pixels);
  });
});
