import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../src/image/png.js';
import { parsePythonJson } from '../../src/io/json.js';
import { parsePoseJson } from '../../src/control/openpose.js';
import { renderPose } from '../../src/control/render.js';

const root = join(import.meta.dirname, '../../../tests/golden/controlnet');
interface PoseItem { pose: string; expected: string; size_wh: [number, number]; people: number }
const items = (JSON.parse(readFileSync(join(root, 'cases.json'), 'utf8')) as { openpose: { items: PoseItem[] } }).openpose.items;

describe('renderPose matches ControlNet 1.1 draw_bodypose pixel for pixel', () => {
  it.each(items.map((c) => [c.expected, c] as const))('%s', (_name, c) => {
    const doc = parsePoseJson(parsePythonJson(readFileSync(join(root, c.pose), 'utf8')));
    expect([doc.width, doc.height]).toEqual(c.size_wh);
    expect(doc.people).toHaveLength(c.people);
    const expected = decodePng(readFileSync(join(root, c.expected)));
    const image = renderPose(doc);
    expect(expected.channels).toBe(3);
    let differing = 0;
    for (let i = 0; i < image.data.length; i++) if (image.data[i] !== expected.data[i]) differing++;
    expect(differing).toBe(0);
  });
});
