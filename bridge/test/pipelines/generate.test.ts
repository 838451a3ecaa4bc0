// kirie generate's Node glue: PNG text chunks, options → request, and a real tiny-model run whose PNG
// recipe (Kirie's JSON, and A1111's text alone) remakes the same pixels.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { prepareGeneration } from '../../src/generate/options.js';
import { readText, withText } from '../../src/generate/png-text.js';
import { outputPaths, runGeneration } from '../../src/generate/run.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden');
const MODEL = join(GOLDEN, 'tiny-sd15/tiny-sd15.safetensors');
const dir = mkdtempSync(join(tmpdir(), 'kirie-generate-'));
const tiny = encodePng({ width: 2, height: 1, channels: 3, data: new Uint8Array([1, 2, 3, 4, 5, 6]) });

describe('PNG text', () => {
  it('writes Latin-1 as tEXt and anything else as iTXt, and reads both back', () => {
    const png = withText(tiny, { parameters: 'un café ☕\nSteps: 2', kirie: '{"a":1}' });
    expect(Buffer.from(png).includes(Buffer.from('iTXtparameters'))).toBe(true);
    expect(Buffer.from(png).includes(Buffer.from('tEXtkirie'))).toBe(true);
    expect(readText(png)).toEqual({ parameters: 'un café ☕\nSteps: 2', kirie: '{"a":1}' });
    expect(decodePng(png).data).toEqual(decodePng(tiny).data);
  });

  it('reads what fast-png writes and rejects what is not a PNG', () => {
    expect(readText(encodePng({ width: 1, height: 1, channels: 1, data: new Uint8Array([0]) }, { Software: 'x' }))).toEqual({ Software: 'x' });
    expect(() => readText(new Uint8Array([1, 2, 3]))).toThrow(/not a PNG/);
    expect(() => withText(tiny, { 'bad\nkey': 'v' })).toThrow(/keyword/);
  });
});

describe('options → request', () => {
  it('takes the size of the init image and its content id', () => {
    const init = join(dir, 'init.png');
    writeFileSync(init, encodePng({ width: 72, height: 64, channels: 3, data: new Uint8Array(72 * 64 * 3) }));
    const { request, images } = prepareGeneration({ model: MODEL, prompt: 'p', init, strength: 0.5, seed: 3 });
    expect(request).toMatchObject({ width: 72, height: 64, strength: 0.5, seed: 3 });
    expect(request.initImage).toMatch(/^[0-9a-f]{64}$/);
    expect(images.get(request.initImage!).width).toBe(72);
  });

  it.each([
    [{ prompt: 'p' }, /--model/],
    [{ model: MODEL }, /--prompt/],
    [{ model: MODEL, prompt: 'p', mask: join(dir, 'none.png') }, /mask .*none.png: no such file/],
    [{ model: MODEL, prompt: 'p', control: join(dir, 'x.png'), pose: 'y.json' }, /one of --pose, --control or --pose-photo/],
    [{ model: MODEL, prompt: 'p', width: 100 }, /width must be a multiple of 8/],
  ])('names the problem in %j', (opts, error) => {
    expect(() => prepareGeneration(opts)).toThrow(error);
  });

  it('gives a random seed when none is asked for', () => {
    expect(prepareGeneration({ model: MODEL, prompt: 'p' }).request.seed).toBeGreaterThanOrEqual(0);
  });

  it('names the batch outputs', () => {
    expect(outputPaths('a/out.png', 1)).toEqual(['a/out.png']);
    expect(outputPaths('a/out.png', 2)).toEqual(['a/out-1.png', 'a/out-2.png']);
  });
});

describe('kirie generate on the tiny model', () => {
  it('writes PNGs whose recipes remake them exactly', async () => {
    const out = join(dir, 'fox.png');
    const first = prepareGeneration({ model: MODEL, prompt: 'a red fox, café', negative: 'blurry', width: 64, height: 64, steps: 3, seed: 5, scheduler: 'euler_a', batch: 2 });
    const paths = await runGeneration(first.request, first.images, { device: 'cpu', out });
    expect(paths).toEqual([join(dir, 'fox-1.png'), join(dir, 'fox-2.png')]);
    const second = readFileSync(paths[1]);
    const text = readText(second);
    expect(text.parameters).toMatch(/^a red fox, café\nNegative prompt: blurry\nSteps: 3, Sampler: Euler a, CFG scale: 7.5, Seed: 6, Size: 64x64, Model hash: 5f26941894, Model: tiny-sd15.safetensors/);

    const again = prepareGeneration({ recipe: paths[1] });
    expect(again.request).toEqual({ ...first.request, seed: 6, batchSize: 1 });
    const [remade] = await runGeneration(again.request, again.images, { device: 'cpu', out: join(dir, 'again.png') });
    expect(readFileSync(remade)).toEqual(second);

    // Only the A1111 text (it names the model by file name only, so --model is given): the same pixels.
    const a1111 = join(dir, 'a1111.png');
    writeFileSync(a1111, withText(encodePng(decodePng(second)), { parameters: text.parameters }));
    const fromText = prepareGeneration({ recipe: a1111, model: MODEL });
    const [textRemade] = await runGeneration(fromText.request, fromText.images, { device: 'cpu', out: join(dir, 'text.png') });
    expect(decodePng(readFileSync(textRemade)).data).toEqual(decodePng(second).data);
  });
});
