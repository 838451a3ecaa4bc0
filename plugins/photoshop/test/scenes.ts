// Documents the Photoshop tests work on: a fake Photoshop with one document over a flat background, a
// feathered elliptic selection, and a way to read what the canvas shows.
import { bounds } from '@kirie/core/image/bounds';
import { createPhotoshopHost } from '../src/host.js';
import { type Depth, type FakeDocument, FakePhotoshop } from './fake-photoshop.js';
import { fakeUxp } from './fake-uxp.js';

export const ORIGINAL: [number, number, number, number] = [120, 90, 200, 255];

export function setup(width: number, height: number, depth: Depth = 8) {
  const ps = new FakePhotoshop();
  const doc = ps.openDocument('poster.psd', width, height, depth);
  doc.addLayer('Background', bounds(0, 0, width, height), () => ORIGINAL, 'background');
  return { ps, doc, host: createPhotoshopHost(ps.module(), fakeUxp().module.xmp) };
}

/** A selection with a feathered edge: 255 inside an ellipse, grey levels across a 6 px rim. */
export function ellipseSelection(doc: FakeDocument, cx: number, cy: number, rx: number, ry: number): void {
  const b = bounds(Math.max(0, Math.floor(cx - rx - 6)), Math.max(0, Math.floor(cy - ry - 6)), 0, 0);
  const x1 = Math.min(doc.width, Math.ceil(cx + rx + 6));
  const y1 = Math.min(doc.height, Math.ceil(cy + ry + 6));
  const area = bounds(b.x, b.y, x1 - b.x, y1 - b.y);
  const data = new Uint8Array(area.width * area.height);
  for (let y = 0; y < area.height; y++) {
    for (let x = 0; x < area.width; x++) {
      const d = Math.hypot((area.x + x + 0.5 - cx) / rx, (area.y + y + 0.5 - cy) / ry);
      data[y * area.width + x] = Math.round(255 * Math.min(1, Math.max(0, (1.15 - d) / 0.3)));
    }
  }
  doc.selection = { bounds: area, data };
}

export function pixel(doc: FakeDocument, x: number, y: number): number[] {
  const c = doc.composite();
  return Array.from(c.subarray((y * doc.width + x) * 4, (y * doc.width + x) * 4 + 4));
}

