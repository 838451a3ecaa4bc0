// The UNet's GroupNorm in plain ops (layers.ts instanceNormInPlainOps), which ONNX Runtime's CPU provider
// runs on all its threads, against the InstanceNormalization kernel it replaces (one thread), under the
// session options the bridge uses: bit for bit the same for every row length that is a multiple of 4 —
// all of SD1.5's and SDXL's at latents of even area, and the tiny golden models' — and within an ulp or two
// of the same for the rest, whose last values ORT's ReduceMean adds in another order.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { FLOAT, Graph } from '@kirie/core/models/onnx/graph';
import { groupNorm } from '@kirie/core/models/onnx/layers';
import type { TensorSource } from '@kirie/core/models/types';
import { sessionOptions } from '../../src/runtime/session.js';
import { seeded } from './seeded.js';

/** Seeded values around an offset mean, as activations have: a one-pass variance would show it. */
const offset = (n: number, seed: number) => seeded(n, seed).map((v) => v + 0.4);

/** One GroupNorm over [2, channels, 1, area] with seeded affine weights, as the UNet (parallel) or the VAE builds it. */
async function normGraph(channels: number, area: number, parallel: boolean): Promise<Uint8Array> {
  const source: TensorSource = {
    keys: () => ['n.weight', 'n.bias'],
    shape: () => [channels],
    read: async (key) => offset(channels, key === 'n.weight' ? 11 : 13),
  };
  const g = new Graph(source, { fp16: false });
  const dims = [2, channels, 1, area];
  g.output('y', await groupNorm(g, g.input('x', FLOAT, dims), 'n', channels, 1e-5, { parallel }), dims);
  return g.toBytes('group_norm', 'GroupNorm exactness');
}

async function run(channels: number, area: number, parallel: boolean): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(await normGraph(channels, area, parallel), sessionOptions('cpu', 2));
  const x = new ort.Tensor('float32', offset(2 * channels * area, area), [2, channels, 1, area]);
  const y = (await session.run({ x })).y.data as Float32Array;
  await session.release();
  return y;
}

describe('GroupNorm in plain ops', () => {
  // [channels, latent area]: SD1.5/SDXL widths (10, 20, 40 channels a group) at 64² (512 px), 33×41 and
  // 128² latents and their downsampled levels; the tiny models' (1 and 2 channels a group) at 8² … 1².
  const exact: [number, number][] = [
    [320, 4096], [640, 1024], [1280, 256], [1280, 64], [320, 2706], [640, 357], [1280, 90], [1280, 1024],
    [32, 64], [32, 16], [64, 4], [64, 1], [32, 256], [64, 16], [64, 2], [32, 4], [32, 12], [32, 20], [32, 28], [32, 44],
  ];
  it.each(exact)('%i channels × %i positions: the same bits as InstanceNormalization', async (channels, area) => {
    const [plain, kernel] = [await run(channels, area, true), await run(channels, area, false)];
    const differing = plain.reduce((n, v, i) => n + (v === kernel[i] ? 0 : 1), 0);
    expect(differing).toBe(0);
  });

  const close: [number, number][] = [[320, 65 * 65], [32, 7], [32, 117], [64, 3]];
  it.each(close)('%i channels × %i positions (rows not a multiple of 4): within float rounding of it', async (channels, area) => {
    const [plain, kernel] = [await run(channels, area, true), await run(channels, area, false)];
    let worst = 0;
    for (let i = 0; i < plain.length; i++) worst = Math.max(worst, Math.abs(plain[i] - kernel[i]) / Math.max(1, Math.abs(kernel[i])));
    expect(worst).toBeLessThan(2e-6);
  });
});
