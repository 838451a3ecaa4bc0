// `kirie generate --init --mask` composites like the plugins: outside the blend mask the init image comes
// back bit for bit; `--raw` keeps the pipeline's whole output (every pixel through the VAE), as before.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planInpaint } from '@kirie/core/image/inpaint';
import { maskFromImage } from '@kirie/core/image/masks';
import { decodePng, encodePng, type RasterImage } from '@kirie/core/image/png';
import { prepareGeneration } from '../../src/generate/options.js';
import { runGeneration } from '../../src/generate/run.js';

const MODEL = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-sd15.safetensors');
const dir = mkdtempSync(join(tmpdir(), 'kirie-inpaint-'));

function writePng(name: string, image: RasterImage): string {
  const path = join(dir, name);
  writeFileSync(path, encodePng(image));
  return path;
}

/** A textured RGB picture (a VAE round trip cannot give it back exactly) and a square mask in it. */
function picture(width: number, height: number): string {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    data.set([(x * 7 + y * 3) % 256, (x * y) % 251, (x ^ y) * 5 % 256], i * 3);
  }
  return writePng(`init-${width}x${height}.png`, { width, height, channels: 3, data });
}

function squareMask(width: number, height: number, x0: number, y0: number, side: number): RasterImage {
  const data = new Uint8Array(width * height);
  for (let y = y0; y < y0 + side; y++) data.fill(255, y * width + x0, y * width + x0 + side);
  return { width, height, channels: 1, data };
}

const common = { model: MODEL, prompt: 'a red fox', steps: 3, seed: 7 };

describe('kirie generate --init --mask', () => {
  const init = picture(96, 80);
  const maskImage = squareMask(96, 80, 40, 30, 20);
  const mask = writePng('mask.png', maskImage);

  it('leaves every pixel outside the blend mask bit-identical and repaints inside', async () => {
    const { request, images } = prepareGeneration({ ...common, init, mask });
    expect(request.inpaint).toBeDefined();
    const [out] = await runGeneration(request, images, { device: 'cpu', out: join(dir, 'composited.png') });
    const original = decodePng(readFileSync(init));
    const result = decodePng(readFileSync(out));
    expect([result.width, result.height, result.channels]).toEqual([96, 80, 3]);

    // The blend mask as the bridge plans it for this request (bridge/src/generate/request-run.ts).
    const sides = { minSide: 80, maxSide: 96, multiple: 8 };
    const plan = await planInpaint(original, maskFromImage(maskImage), request.strength, request.inpaint, sides);
    const { context } = plan.transform;
    let outside = 0;
    let changedInside = 0;
    for (let y = 0; y < 80; y++) {
      for (let x = 0; x < 96; x++) {
        const inContext = x >= context.x && y >= context.y && x < context.x + context.width && y < context.y + context.height;
        const blend = inContext ? plan.blendMask.data[(y - context.y) * context.width + (x - context.x)] : 0;
        const i = (y * 96 + x) * 3;
        const same = [0, 1, 2].every((c) => result.data[i + c] === original.data[i + c]);
        if (blend === 0) {
          outside++;
          if (!same) throw new Error(`pixel (${x}, ${y}) outside the blend mask changed`);
        } else if (maskImage.data[y * 96 + x] === 255 && !same) changedInside++;
      }
    }
    expect(outside).toBeGreaterThan(96 * 80 / 2);
    expect(changedInside).toBeGreaterThan(20 * 20 / 2);

    // Its recipe remakes it composited.
    expect(prepareGeneration({ recipe: out, init, mask }).request.inpaint).toEqual(request.inpaint);
  });

  it('--raw gives the pipeline output of before: the whole image re-encoded', async () => {
    const { request, images } = prepareGeneration({ ...common, init, mask, raw: true });
    expect(request.inpaint).toBeUndefined();
    expect(request.maskMode).toBeUndefined();
    const [out] = await runGeneration(request, images, { device: 'cpu', out: join(dir, 'raw.png') });
    const original = decodePng(readFileSync(init)).data;
    const result = decodePng(readFileSync(out)).data;
    let changed = 0;
    for (let i = 0; i < result.length; i += 3) if (result[i] !== original[i] || result[i + 1] !== original[i + 1] || result[i + 2] !== original[i + 2]) changed++;
    expect(changed).toBeGreaterThan((96 * 80 * 9) / 10);
    // A raw recipe stays raw when remade without --raw.
    expect(prepareGeneration({ recipe: out, init, mask }).request.inpaint).toBeUndefined();
  });

  it('takes any init size when compositing (the model size is bounded by it, rounded to 8)', () => {
    const odd = picture(100, 84);
    const oddMask = writePng('mask-odd.png', squareMask(100, 84, 10, 10, 8));
    expect(prepareGeneration({ ...common, init: odd, mask: oddMask }).request).toMatchObject({ width: 96, height: 80 });
    expect(() => prepareGeneration({ ...common, init: odd, mask: oddMask, raw: true })).toThrow(/width must be a multiple of 8/);
    expect(() => prepareGeneration({ ...common, init: odd, raw: true })).toThrow(/--raw applies to inpainting/);
  });
});
