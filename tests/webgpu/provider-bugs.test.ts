// Minimal reproductions of what ONNX Runtime's WebGPU provider (onnxruntime-node 1.30) computes wrong, each
// beside the graph-builder workaround that avoids it (core/src/models/onnx/webgpu.ts). A reproduction that
// starts passing means the provider was fixed: its workaround can go.
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { FLOAT, Graph } from '@kirie/core/models/onnx/graph';
import { conv } from '@kirie/core/models/onnx/layers';
import type { TensorSource } from '@kirie/core/models/types';
import { maxAbsDiff } from '../../bridge/src/verify/compare.js';
import { describeWebGpu } from './adapter.js';

function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31) * 2 - 1;
  });
}

/** One 3×3 Conv (bias, padding 1) over a [2, cin, 8, 8] input, as conv() in layers.ts builds it. */
async function convGraph(cin: number, cout: number, webgpu: boolean): Promise<Uint8Array> {
  const shapes: Record<string, number[]> = { 'c.weight': [cout, cin, 3, 3], 'c.bias': [cout] };
  const source: TensorSource = {
    keys: () => Object.keys(shapes),
    shape: (key) => shapes[key],
    read: async (key) => seeded(shapes[key].reduce((a, b) => a * b, 1), key.length),
  };
  const g = new Graph(source, { fp16: false, webgpu });
  g.output('y', await conv(g, g.input('x', FLOAT, [2, cin, 8, 8]), 'c', cin, cout, 3), [2, cout, 8, 8]);
  return g.toBytes('conv', 'WebGPU conv reproduction');
}

async function run(model: Uint8Array, provider: 'cpu' | 'webgpu', cin: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
  const x = new ort.Tensor('float32', seeded(2 * cin * 64, 7), [2, cin, 8, 8]);
  const y = (await session.run({ x })).y.data as Float32Array;
  await session.release();
  return y;
}

describeWebGpu('WebGPU provider bugs', () => {
  // 6, 9, 15, 18 and 21 input channels fail (every width 1–24 measured); 9 is an inpainting UNet's conv_in.
  it.each([6, 9])('Conv 3×3 over %i input channels is wrong as the provider computes it', async (cin) => {
    const model = await convGraph(cin, 32, false);
    expect(maxAbsDiff(await run(model, 'webgpu', cin), await run(model, 'cpu', cin))).toBeGreaterThan(1);
  });

  it.each([6, 9])('the same Conv built for WebGPU (input padded to a multiple of 4) is right', async (cin) => {
    const [plain, padded] = [await convGraph(cin, 32, false), await convGraph(cin, 32, true)];
    expect(maxAbsDiff(await run(padded, 'webgpu', cin), await run(plain, 'cpu', cin))).toBeLessThan(1e-4);
  });
});
