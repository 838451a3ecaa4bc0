import { beforeEach, describe, expect, it } from 'vitest';
import { generate, type PipelineInput, type StepProgress } from '../../src/pipeline/generate.js';
import type { RasterImage } from '../../src/image/png.js';
import { CountingNoise, FakeScheduler, contextMean, fakeControlNet, fakeModel, live, ort, RES_CHANNELS, tokenizer } from './fakes.js';

const f = Math.fround;

function rgb(width: number, height: number, value: (x: number, y: number, c: number) => number): RasterImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = value(x, y, c);
  return { width, height, channels: 3, data };
}

function grey(width: number, height: number, value: (x: number, y: number) => number): RasterImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = value(x, y);
  return { width, height, channels: 1, data };
}

function input(patch: Partial<PipelineInput>): PipelineInput {
  return { prompt: 'a fox', negativePrompt: 'blur', width: 16, height: 16, steps: 3, scheduler: new FakeScheduler(), guidance: 3, batchSize: 1, strength: 1, control: [], noise: new CountingNoise(), ...patch };
}

/** The fake text encoder's context mean for a prompt (ids = char codes padded to 8). */
function promptMean(text: string): number {
  const ids = Array.from(tokenizer.encodePadded(text));
  return ids.reduce((a, id) => a + id / 100, 0) / 8 + 1.5;
}

beforeEach(() => live.clear());

describe('text to image', () => {
  it('runs CFG as one [negative, positive] UNet batch and follows the scheduler', async () => {
    const model = fakeModel({ latent: [2, 2] });
    const noise = new CountingNoise();
    const scheduler = new FakeScheduler();
    const progress: StepProgress[] = [];
    const result = await generate(input({ scheduler, noise, batchSize: 2 }), { ort, model, onProgress: (p) => progress.push(p) });

    expect(noise.draws).toEqual([[2, 4, 2, 2], [2, 4, 2, 2], [2, 4, 2, 2], [2, 4, 2, 2]]);
    expect(model.textEncoder.calls).toHaveLength(2);
    const calls = model.unet.calls;
    expect(calls.map((c) => Number((c.timestep.data as BigInt64Array)[0]))).toEqual(scheduler.timesteps);
    const ctx = calls[0].encoder_hidden_states;
    expect(ctx.dims).toEqual([4, 8, 4]);
    const means = [0, 1, 2, 3].map((b) => contextMean(ctx.data as Float32Array, b));
    expect(means[0]).toBeCloseTo(promptMean('blur'), 5);
    expect(means[1]).toBeCloseTo(promptMean('blur'), 5);
    expect(means[2]).toBeCloseTo(promptMean('a fox'), 5);
    expect(means[3]).toBeCloseTo(promptMean('a fox'), 5);

    // Every latent value follows the same scalar recurrence.
    let x = 1 * 2;
    for (const t of scheduler.timesteps) {
      const s = 0.5 * x;
      const uncond = 0.1 * s + t / 1000 + 0.01 * promptMean('blur');
      const text = 0.1 * s + t / 1000 + 0.01 * promptMean('a fox');
      x = x - 0.1 * (uncond + 3 * (text - uncond));
    }
    for (const v of result.latents) expect(v).toBeCloseTo(x, 5);
    expect(result.latents).toHaveLength(2 * 4 * 4);
    const pixel = Math.min(1, Math.max(0, x / 0.5 / 2 + 0.5));
    expect(result.pixels[1][0]).toBeCloseTo(pixel, 5);
    expect(result.images).toHaveLength(2);
    expect(result.images[0].data[0]).toBe(Math.round(pixel * 255));
    expect(model.vaeDecoder.calls.map((c) => c.latent_sample.dims)).toEqual([[1, 4, 2, 2], [1, 4, 2, 2]]);

    expect(progress.map((p) => [p.step, p.total, p.preview?.width])).toEqual([[1, 3, 2], [2, 3, 2], [3, 3, 2]]);
    expect(live.size).toBe(0);
  });

  it('turns CFG off at guidance ≤ 1: one prompt, batch B', async () => {
    const model = fakeModel({ latent: [2, 2] });
    await generate(input({ guidance: 1 }), { ort, model });
    expect(model.textEncoder.calls).toHaveLength(1);
    expect(model.unet.calls[0].sample.dims).toEqual([1, 4, 2, 2]);
  });

  it('stops between steps when aborted, releasing every tensor', async () => {
    const model = fakeModel({ latent: [2, 2] });
    const abort = new AbortController();
    const run = generate(input({ steps: 5 }), { ort, model, signal: abort.signal, onProgress: (p) => p.step === 2 && abort.abort() });
    await expect(run).rejects.toThrow(/abort/i);
    expect(model.unet.calls).toHaveLength(2);
    expect(model.vaeDecoder.calls).toHaveLength(0);
    expect(live.size).toBe(0);
  });
});

describe('image to image', () => {
  it('starts at diffusers\' strength step from the re-noised image latents', async () => {
    const model = fakeModel({ latent: [2, 2] });
    const scheduler = new FakeScheduler();
    const noise = new CountingNoise();
    const init = rgb(16, 16, (x) => (x < 8 ? 0 : 255));
    await generate(input({ scheduler, noise, steps: 10, strength: 0.45, initImage: init }), { ort, model });
    expect(scheduler.stepped).toEqual(scheduler.timesteps.slice(6));
    const enc = model.vaeEncoder!.calls[0].sample;
    expect(enc.dims).toEqual([1, 3, 16, 16]);
    expect([enc.data[0], enc.data[15]]).toEqual([-1, 1]);
    // image latent channel 0: mean of the block (−1 left, 1 right) · 0.5; start = that + noise(1)·t0/1000; UNet sees ×0.5
    const t0 = scheduler.timesteps[6];
    const start = [-0.5 + t0 / 1000, 0.5 + t0 / 1000];
    const first = model.unet.calls[0].sample.data as Float32Array;
    expect(first[0]).toBeCloseTo(0.5 * start[0], 6);
    expect(first[1]).toBeCloseTo(0.5 * start[1], 6);
    expect(live.size).toBe(0);
  });

  it('rejects a strength that leaves no step', async () => {
    const model = fakeModel({ latent: [2, 2] });
    await expect(generate(input({ steps: 4, strength: 0.2, initImage: rgb(16, 16, () => 0) }), { ort, model })).rejects.toThrow(/leaves 0 denoising steps/);
  });

  it('names a wrongly sized init image', async () => {
    const model = fakeModel({ latent: [2, 2] });
    await expect(generate(input({ strength: 0.5, initImage: rgb(8, 16, () => 0) }), { ort, model })).rejects.toThrow(/init image is 8x16.*16x16/);
  });
});

describe('inpainting', () => {
  // Left half white (repaint) with a soft edge: 127 stays, 128 repaints.
  const mask = grey(16, 16, (x) => (x < 7 ? 255 : x === 7 ? 128 : x === 8 ? 127 : 0));
  const init = rgb(16, 16, (_x, y) => (y < 8 ? 51 : 204));

  it('4-channel: keeps the original latents outside the mask, exactly, at the end', async () => {
    const model = fakeModel({ latent: [2, 2] });
    const result = await generate(input({ strength: 0.75, steps: 4, initImage: init, mask }), { ort, model });
    // The fake encoder averages in float32: 64 additions of v/64.
    const imageLatents = (v: number) => {
      let acc = 0;
      for (let i = 0; i < 64; i++) acc = f(acc + f(f(2 * f(v / 255) - 1) / 64));
      return f(acc * 0.5);
    };
    // latent cell (y, x=1) is outside the mask (source pixel x = 8: 127 < 128); x=0 is inside.
    expect(result.latents[1]).toBe(imageLatents(51));
    expect(result.latents[3]).toBe(imageLatents(204));
    expect(result.latents[0]).not.toBeCloseTo(imageLatents(51), 3);
    expect(live.size).toBe(0);
  });

  it('9-channel: feeds [latents, mask, masked-image latents] and starts from pure noise at strength 1', async () => {
    const model = fakeModel({ latent: [2, 2], channels: 9 });
    const noise = new CountingNoise();
    await generate(input({ strength: 1, steps: 2, initImage: init, mask, noise }), { ort, model });
    expect(model.vaeEncoder!.calls).toHaveLength(1); // only the masked image: no image latents needed
    const masked = model.vaeEncoder!.calls[0].sample.data as Float32Array;
    expect([masked[0], masked[8], masked[16 * 9 + 15]]).toEqual([0, f(2 * f(51 / 255) - 1), f(2 * f(204 / 255) - 1)]);
    const call = model.unet.calls[0].sample;
    expect(call.dims).toEqual([2, 9, 2, 2]);
    const x = call.data as Float32Array;
    expect(Array.from(x.subarray(0, 4))).toEqual([1, 1, 1, 1]); // noise(1) · sigma 2 · scale 0.5
    expect(Array.from(x.subarray(16, 20))).toEqual([1, 0, 1, 0]); // mask latent, nearest
    expect(Array.from(x.subarray(36 + 16, 36 + 20))).toEqual([1, 0, 1, 0]); // repeated for the CFG half
    expect(x[20]).toBe(0); // masked latents ch 0: cell (0,0) lies wholly in the hole (x ≤ 7 are ≥ 128)
    expect(x[21]).toBeCloseTo(0.5 * (2 * (51 / 255) - 1), 6); // cell (0,1) wholly kept
    expect(live.size).toBe(0);
  });

  it('refuses a 9-channel model without a mask', async () => {
    const model = fakeModel({ latent: [2, 2], channels: 9 });
    await expect(generate(input({}), { ort, model })).rejects.toThrow(/inpainting model/);
  });
});

describe('ControlNet', () => {
  const hintA = rgb(16, 16, () => 255); // mean 1
  const hintB = rgb(16, 16, () => 51); // mean 0.2

  it('sums scaled residuals of several units within their windows', async () => {
    const model = fakeModel({ latent: [2, 2], control: true });
    const a = fakeControlNet([2, 2]);
    const b = fakeControlNet([2, 2]);
    const control = [
      { net: a, image: hintA, scale: 0.5, start: 0, end: 0.5 },
      { net: b, image: hintB, scale: 2, start: 0, end: 1 },
    ];
    await generate(input({ steps: 4, control }), { ort, model });
    expect(a.session.calls).toHaveLength(2);
    expect(b.session.calls).toHaveLength(4);
    expect(a.session.calls[0].controlnet_cond.dims).toEqual([2, 3, 16, 16]);
    expect(a.session.calls[0].sample.data).toEqual(model.unet.calls[0].sample.data);
    const mid = (i: number) => model.unet.calls[i].mid_block_additional_residual;
    // the fake's mid residual (output 12) = mean(hint) + 0.4
    expect(mid(0).data[0]).toBeCloseTo(0.5 * 1.4 + 2 * 0.6, 5);
    expect(mid(3).data[0]).toBeCloseTo(2 * 0.6, 5);
    expect(mid(3).dims).toEqual([2, 3, 1, 1]);
    expect(live.size).toBe(0);
  });

  it('feeds zero residuals of the right shapes when no unit acts', async () => {
    const model = fakeModel({ latent: [3, 5], control: true });
    const late = fakeControlNet([3, 5]);
    await generate(input({ width: 40, height: 24, steps: 4, control: [{ net: late, image: rgb(40, 24, () => 9), scale: 1, start: 0.5, end: 1 }] }), { ort, model });
    expect(late.session.calls).toHaveLength(2);
    const first = model.unet.calls[0];
    expect(RES_CHANNELS.map((_c, i) => first[`down_block_${i}_additional_residual`].dims)).toEqual(RES_CHANNELS.map((c, i) => [2, c, ...[[3, 5], [2, 3], [1, 2], [1, 1]][Math.floor(i / 3)]]));
    expect(first.mid_block_additional_residual.data.every((v) => Number(v) === 0)).toBe(true);
    expect(model.unet.calls[2].mid_block_additional_residual.data[0]).not.toBe(0);
  });

  it('refuses control with a UNet graph that takes no residuals', async () => {
    const model = fakeModel({ latent: [2, 2] });
    const net = fakeControlNet([2, 2]);
    await expect(generate(input({ control: [{ net, image: hintA, scale: 1, start: 0, end: 1 }] }), { ort, model })).rejects.toThrow(/no ControlNet residuals/);
    expect(live.size).toBe(0);
  });
});
