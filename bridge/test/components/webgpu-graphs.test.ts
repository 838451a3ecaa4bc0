// Graphs built for WebGPU (BuildOptions.webgpu) route around the provider's bugs without changing what they
// compute: checked here on the CPU, so it holds on machines without a WebGPU adapter. The bugs themselves are
// reproduced in tests/webgpu/provider-bugs.test.ts.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { buildComponent } from '@kirie/core/models/build';
import { onnx } from '@kirie/core/models/onnx/graph';
import { openCheckpoint, type OpenedCheckpoint } from '../../src/models/checkpoint.js';
import { f32 } from '../../src/verify/kinds/components.js';
import { maxAbsDiff } from '../../src/verify/compare.js';

const components = join(import.meta.dirname, '../../../tests/golden/components');
const opened: OpenedCheckpoint[] = [];
afterAll(async () => {
  for (const c of opened) await c.file.close();
});

async function unetGraph(webgpu: boolean, fusedAttention = false): Promise<Uint8Array> {
  const ckpt = await openCheckpoint(join(components, '../tiny-sd15/tiny-sd15-inpainting.safetensors'));
  opened.push(ckpt);
  return buildComponent('unet', ckpt.file, ckpt.arch, { precision: 'fp32', webgpu, fusedAttention });
}

const opTypes = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType);

describe('graphs built for WebGPU', () => {
  it('pad the 9-channel inpainting conv_in to 12 channels, normalise in two passes and compute the same UNet', async () => {
    const [plain, forWebGpu] = [await unetGraph(false), await unetGraph(true)];
    expect(opTypes(plain)).not.toContain('Pad');
    // conv_in's input and weight (conv_in takes no LoRA); no other convolution has a width the provider gets wrong.
    expect(opTypes(forWebGpu).filter((t) => t === 'Pad')).toHaveLength(2);
    // GroupNorm and LayerNorm as plain ops instead of the provider's one-pass normalisation (the float32 UNet's
    // GroupNorms are plain ops on every provider, so that ONNX Runtime's CPU threads share them: layers.ts groupNorm).
    expect(opTypes(plain)).toContain('LayerNormalization');
    expect(opTypes(plain)).not.toContain('InstanceNormalization');
    expect(opTypes(forWebGpu)).not.toEqual(expect.arrayContaining(['InstanceNormalization']));
    expect(opTypes(forWebGpu)).not.toEqual(expect.arrayContaining(['LayerNormalization']));
    const run = async (bytes: Uint8Array) => {
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
      const feeds = {
        sample: f32(join(components, 'unet_inpaint.sample.npy')),
        timestep: new ort.Tensor('float32', Float32Array.of(500), [1]),
        encoder_hidden_states: f32(join(components, 'unet.encoder_hidden_states.npy')),
      };
      const out = (await session.run(feeds)).out_sample.data as Float32Array;
      await session.release();
      return out;
    };
    const [a, b] = [await run(plain), await run(forWebGpu)];
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  });

  it('attend with MatMul/Softmax even when fused attention is asked for', async () => {
    expect(opTypes(await unetGraph(false, true))).toContain('MultiHeadAttention');
    expect(opTypes(await unetGraph(true, true))).not.toContain('MultiHeadAttention');
  });
});
