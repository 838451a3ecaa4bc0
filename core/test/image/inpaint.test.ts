import { describe, expect, it } from 'vitest';
import { bounds, type Bounds, contains } from '@kirie/core/image/bounds';
import { toCanvas } from '@kirie/core/image/context';
import { applyPatch, compositeInpaint, type InpaintPlan, planInpaint } from '@kirie/core/image/inpaint';
import type { CanvasMask } from '@kirie/core/image/masks';
import type { RasterImage } from '@kirie/core/image/png';
import { cropImage } from '@kirie/core/image/raster';
import { analyticGenerate, boundaryBand, ellipseSelection, hardPaste, labMeanDifference, sceneImage, seamEnergy } from '@kirie/core/image/quality';

const rect = (b: Bounds): CanvasMask => ({ bounds: b, data: new Uint8Array(b.width * b.height).fill(255) });

/** A "model" that paints 255 where its pixel centre maps into `target` on the canvas, 0 elsewhere. */
function markerGenerate(plan: InpaintPlan, target: Bounds): RasterImage {
  const { model } = plan.transform;
  const data = new Uint8Array(model.width * model.height * 3);
  for (let y = 0; y < model.height; y++) {
    for (let x = 0; x < model.width; x++) {
      const [cx, cy] = toCanvas(plan.transform, x, y);
      const inside = cx >= target.x - 0.5 && cx < target.x + target.width - 0.5 && cy >= target.y - 0.5 && cy < target.y + target.height - 0.5;
      data.fill(inside ? 255 : 0, (y * model.width + x) * 3, (y * model.width + x) * 3 + 3);
    }
  }
  return { width: model.width, height: model.height, channels: 3, data };
}

const cases: [string, [number, number], Bounds, number, 3 | 4][] = [
  ['square canvas, middle', [640, 640], bounds(250, 260, 90, 70), 1, 3],
  ['odd non-square canvas, odd selection', [777, 333], bounds(401, 97, 57, 41), 1, 3],
  ['selection on the top-left corner', [900, 500], bounds(0, 0, 120, 80), 1, 4],
  ['selection on the bottom-right edge', [513, 1031], bounds(430, 950, 83, 81), 1, 3],
  ['large selection (downscaled)', [2000, 1400], bounds(300, 200, 1100, 900), 1, 3],
  ['refinement of a small selection (upscaled)', [1200, 900], bounds(600, 600, 33, 21), 0.6, 4],
  ['tall canvas smaller than the model', [200, 420], bounds(50, 300, 60, 90), 1, 3],
];

describe('planInpaint + compositeInpaint', () => {
  it.each(cases)('%s: untouched pixels are bit-identical, the result lands on the selection', async (_, [w, h], sel, strength, channels) => {
    const original = sceneImage(w, h, channels);
    const selection = rect(sel);
    const plan = await planInpaint(original, selection, strength, { colorMatch: false, blendBlur: 0 });
    const { context, model } = plan.transform;
    expect(contains(bounds(0, 0, w, h), context)).toBe(true);
    expect(contains(context, sel)).toBe(true);
    expect([model.width % 8, model.height % 8]).toEqual([0, 0]);
    expect([plan.image.width, plan.image.height, plan.image.channels]).toEqual([model.width, model.height, 3]);
    expect([plan.mask.width, plan.mask.height, plan.mask.channels]).toEqual([model.width, model.height, 1]);

    const patch = await compositeInpaint(plan, original, markerGenerate(plan, sel));
    expect({ ...patch.bounds }).toEqual({ ...context });
    const result = applyPatch(original, patch);

    let changedOutside = 0;
    let misplaced = 0;
    const scale = Math.min(plan.transform.scaleX, plan.transform.scaleY);
    const margin = 2 + 2 / scale; // resampling smears the marker's edge over a few model pixels
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const inPatch = x >= context.x && y >= context.y && x < context.x + context.width && y < context.y + context.height;
        const alpha = inPatch ? patch.image.data[((y - context.y) * context.width + x - context.x) * 4 + 3] : 0;
        if (alpha === 0) {
          for (let c = 0; c < channels; c++) if (result.data[i * channels + c] !== original.data[i * channels + c]) changedOutside++;
          continue;
        }
        const inside = x >= sel.x + margin && x < sel.x + sel.width - margin && y >= sel.y + margin && y < sel.y + sel.height - margin;
        const outside = x < sel.x - margin || x >= sel.x + sel.width + margin || y < sel.y - margin || y >= sel.y + sel.height + margin;
        const v = result.data[i * channels];
        if (alpha === 255 && ((inside && v < 250) || (outside && v > 5))) misplaced++;
      }
    }
    expect(changedOutside).toBe(0);
    expect(misplaced).toBe(0);
  });

  it('reproduces the original when the model returns the scene itself (aligned resampling)', async () => {
    const [w, h] = [901, 613];
    const original = sceneImage(w, h);
    const selection = ellipseSelection(bounds(380, 250, 170, 130));
    const plan = await planInpaint(original, selection, 1, { colorMatch: false });
    const same = analyticGenerate(plan, w, h, { cast: [0, 0, 0], texture: 0 });
    const result = applyPatch(original, await compositeInpaint(plan, original, same));
    let worst = 0;
    let sum = 0;
    for (let i = 0; i < original.data.length; i++) {
      const d = Math.abs(result.data[i] - original.data[i]);
      worst = Math.max(worst, d);
      sum += d;
    }
    expect(worst).toBeLessThanOrEqual(3);
    expect(sum / original.data.length).toBeLessThan(0.05);
  });

  it('hides the seam and the colour cast better than a hard paste (synthetic scene)', async () => {
    const [w, h] = [800, 600];
    const original = sceneImage(w, h);
    const selection = ellipseSelection(bounds(300, 200, 200, 160));
    const plan = await planInpaint(original, selection, 1);
    const noMatch = await planInpaint(original, selection, 1, { colorMatch: false });
    const generated = analyticGenerate(plan, w, h, { cast: [18, -6, -14], texture: 12 });
    const matchedPatch = await compositeInpaint(plan, original, generated);
    const rawPatch = await compositeInpaint(noMatch, original, generated);
    const hard = applyPatch(original, await hardPaste(plan, original, generated, selection));
    const band = boundaryBand(selection, w, h, plan.feather + plan.options.grow);
    const seamHard = seamEnergy(hard, original, band);
    // The blend alone (no colour match) already spreads the seam; colour matching shrinks the jump itself.
    expect(seamEnergy(applyPatch(original, rawPatch), original, band)).toBeLessThan(0.7 * seamHard);
    expect(seamEnergy(applyPatch(original, matchedPatch), original, band)).toBeLessThan(0.4 * seamHard);

    // Colour: the generated patch against the original in the ring, with and without matching.
    const ringOriginal = cropImage(original, plan.transform.context);
    const before = labMeanDifference(rawPatch.image, ringOriginal, plan.ring);
    const after = labMeanDifference(matchedPatch.image, ringOriginal, plan.ring);
    expect(before).toBeGreaterThan(5);
    expect(after).toBeLessThan(0.2 * before);
  });

  it.each([
    // original pixel, patch pixel (RGBA), result
    [[100, 100, 100, 255], [200, 0, 0, 255], [200, 0, 0, 255]],
    [[100, 100, 100, 255], [200, 0, 0, 128], [150, 50, 50, 255]],
    [[100, 100, 100, 0], [200, 0, 0, 128], [200, 0, 0, 128]],
    [[100, 100, 100, 128], [200, 0, 0, 128], [167, 33, 33, 192]],
    [[100, 100, 100, 7], [1, 2, 3, 0], [100, 100, 100, 7]],
  ])('applyPatch lays %j under %j as %j (source over)', (under, over, expected) => {
    const original: RasterImage = { width: 1, height: 1, channels: 4, data: Uint8Array.from(under) };
    const result = applyPatch(original, { bounds: bounds(0, 0, 1, 1), image: { width: 1, height: 1, channels: 4, data: Uint8Array.from(over) } });
    expect([...result.data]).toEqual(expected);
    const rgb = applyPatch({ width: 1, height: 1, channels: 3, data: Uint8Array.from(under.slice(0, 3)) }, { bounds: bounds(0, 0, 1, 1), image: { width: 1, height: 1, channels: 4, data: Uint8Array.from(over) } });
    if (under[3] === 255) expect([...rgb.data]).toEqual(expected.slice(0, 3));
  });

  it('rejects mismatched inputs with clear errors', async () => {
    const original = sceneImage(300, 200);
    await expect(planInpaint(original, rect(bounds(10, 10, 20, 20)), 1, { grow: -1 })).rejects.toThrow(/invalid inpaint options: grow/);
    await expect(planInpaint(original, rect(bounds(10, 10, 20, 20)), 1, { bogus: 1 } as object)).rejects.toThrow(/invalid inpaint options/);
    await expect(planInpaint({ ...original, channels: 1, data: new Uint8Array(300 * 200) }, rect(bounds(1, 1, 2, 2)), 1)).rejects.toThrow(/RGB or RGBA/);
    const plan = await planInpaint(original, rect(bounds(10, 10, 20, 20)), 1);
    await expect(compositeInpaint(plan, original, sceneImage(64, 64))).rejects.toThrow(/model size 768×512/);
    await expect(compositeInpaint(plan, sceneImage(301, 200), plan.image)).rejects.toThrow(/plan was made for 300×200/);
    expect(() => applyPatch(original, { bounds: bounds(290, 0, 20, 20), image: { width: 20, height: 20, channels: 4, data: new Uint8Array(1600) } })).toThrow(/outside the original/);
  });
});
