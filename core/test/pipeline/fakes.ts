// Fake ONNX sessions computing simple known functions, and a counting Tensor class, so the loop's
// plumbing (batching, CFG order, masks, residuals, disposal) can be checked without real models.
import { Tensor } from 'onnxruntime-common';
import type { InferenceSession } from 'onnxruntime-common';
import { describeControlNetIo, describeSdIo, type ControlNetModel, type SdModel } from '../../src/models/sessions.js';
import type { RasterImage } from '../../src/image/png.js';
import type { PromptTokenizer } from '../../src/pipeline/generate.js';
import type { RequestDeps } from '../../src/pipeline/request.js';
import type { OrtModule, OrtSession } from '../../src/runtime/ort.js';
import type { Scheduler, StepResult } from '../../src/schedulers/types.js';
import type { NoiseSource } from '../../src/rng/noise.js';

export const live = new Set<Tensor>();
/** Makes real onnxruntime-common tensors, remembering each until it is disposed. */
function countingTensor(...args: unknown[]): Tensor {
  const t = new (Tensor as unknown as new (...a: unknown[]) => Tensor)(...args);
  live.add(t);
  const dispose = t.dispose.bind(t);
  t.dispose = () => {
    live.delete(t);
    dispose();
  };
  return t;
}
const CountingTensor = countingTensor as unknown as typeof Tensor;
export const ort: OrtModule = { Tensor: CountingTensor };

type Meta = { name: string; type: Tensor.Type; shape: (number | string)[] };
type RunFn = (feeds: Record<string, Tensor>) => Record<string, { data: Float32Array; dims: number[] }>;

export interface FakeSession extends OrtSession {
  calls: Record<string, { data: Float32Array | Int32Array | BigInt64Array; dims: readonly number[] }>[];
}

export function fakeSession(inputs: Meta[], outputs: Meta[], fn: RunFn): FakeSession {
  const calls: FakeSession['calls'] = [];
  const session = {
    inputNames: inputs.map((m) => m.name),
    outputNames: outputs.map((m) => m.name),
    inputMetadata: inputs.map((m) => ({ ...m, isTensor: true })) as InferenceSession.ValueMetadata[],
    outputMetadata: outputs.map((m) => ({ ...m, isTensor: true })) as InferenceSession.ValueMetadata[],
    calls,
    async run(feeds: Record<string, Tensor>) {
      calls.push(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { data: (t.data as Float32Array).slice(), dims: [...t.dims] }])));
      const out = fn(feeds);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, countingTensor('float32', v.data, v.dims)]));
    },
    async release() {},
  };
  return session as unknown as FakeSession;
}

const f32 = (t: Tensor) => t.data as Float32Array;
export const D = 4; // hidden size of the fake text encoder

/** Token ids: the char codes of the text, padded with 0 to 8 (a stand-in for CLIP's 77). */
export const tokenizer: PromptTokenizer = {
  encodePadded: (text) => Int32Array.from({ length: 8 }, (_, i) => text.charCodeAt(i) || 0),
};

/** Hidden state = id/100 + d: distinct prompts give distinct contexts. */
export const textEncoder = () =>
  fakeSession([{ name: 'input_ids', type: 'int32', shape: [1, 8] }], [{ name: 'last_hidden_state', type: 'float32', shape: [1, 8, D] }], (feeds) => {
    const ids = feeds.input_ids.data as Int32Array;
    const out = new Float32Array(8 * D).map((_, i) => ids[Math.floor(i / D)] / 100 + (i % D));
    return { last_hidden_state: { data: out, dims: [1, 8, D] } };
  });

export function contextMean(context: Float32Array, b: number): number {
  const n = 8 * D;
  let s = 0;
  for (let i = 0; i < n; i++) s += context[b * n + i];
  return s / n;
}

export const RES_CHANNELS = [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3];
const residualMeta = (latentDims: [number, number]): Meta[] => {
  const size = (level: number) => latentDims.map((s) => Math.ceil(s / 2 ** level));
  return [
    ...RES_CHANNELS.map((c, i) => ({ name: `down_block_${i}_additional_residual`, type: 'float32' as const, shape: ['B', c, ...size(Math.floor(i / 3))] })),
    { name: 'mid_block_additional_residual', type: 'float32' as const, shape: ['B', 3, ...size(3)] },
  ];
};

/**
 * eps = 0.1·x[:, :4] + t/1000 + 0.01·mean(context_b) (+ 0.001·Σ extra channels for 9-ch) (+ mid residual's mean).
 */
export function unet(channels: 4 | 9, control: boolean, latentDims: [number, number]) {
  const inputs: Meta[] = [
    { name: 'sample', type: 'float32', shape: ['B', channels, 'h', 'w'] },
    { name: 'timestep', type: 'int64', shape: [1] },
    { name: 'encoder_hidden_states', type: 'float32', shape: ['B', 8, D] },
    ...(control ? residualMeta(latentDims) : []),
  ];
  return fakeSession(inputs, [{ name: 'out_sample', type: 'float32', shape: ['B', 4, 'h', 'w'] }], (feeds) => {
    const x = f32(feeds.sample);
    const [B, C, h, w] = feeds.sample.dims as number[];
    const plane = h * w;
    const t = Number((feeds.timestep.data as BigInt64Array)[0]);
    const ctx = f32(feeds.encoder_hidden_states);
    const mid = control ? f32(feeds.mid_block_additional_residual) : null;
    const out = new Float32Array(B * 4 * plane);
    for (let b = 0; b < B; b++) {
      let extra = 0;
      for (let c = 4; c < C; c++) for (let i = 0; i < plane; i++) extra += x[(b * C + c) * plane + i];
      const midMean = mid ? mid.subarray((b * mid.length) / B, ((b + 1) * mid.length) / B).reduce((a, v) => a + v, 0) / (mid.length / B) : 0;
      for (let c = 0; c < 4; c++)
        for (let i = 0; i < plane; i++) out[(b * 4 + c) * plane + i] = 0.1 * x[(b * C + c) * plane + i] + t / 1000 + 0.01 * contextMean(ctx, b) + 0.001 * extra + midMean;
    }
    return { out_sample: { data: out, dims: [B, 4, h, w] } };
  });
}

/** Residuals filled with mean(hint_b) + level/10, so sums and scales are easy to predict. */
export function controlnet(latentDims: [number, number]) {
  const outs = residualMeta(latentDims);
  return fakeSession(
    [
      { name: 'sample', type: 'float32', shape: ['B', 4, 'h', 'w'] },
      { name: 'timestep', type: 'int64', shape: [1] },
      { name: 'encoder_hidden_states', type: 'float32', shape: ['B', 8, D] },
      { name: 'controlnet_cond', type: 'float32', shape: ['B', 3, 'H', 'W'] },
    ],
    outs,
    (feeds) => {
      const hint = f32(feeds.controlnet_cond);
      const B = feeds.sample.dims[0] as number;
      const per = hint.length / B;
      return Object.fromEntries(
        outs.map((m, k) => {
          const dims = [B, ...(m.shape.slice(1) as number[])];
          const each = dims.slice(1).reduce((a, v) => a * v, 1);
          const data = new Float32Array(B * each);
          for (let b = 0; b < B; b++) data.fill(hint.subarray(b * per, (b + 1) * per).reduce((a, v) => a + v, 0) / per + Math.floor(k / 3) / 10, b * each, (b + 1) * each);
          return [m.name, { data, dims }];
        }),
      );
    },
  );
}

/** Decoder: latent channels 0-2, nearest-upsampled ×8. Encoder: 8×8 average of each RGB channel → mean channels 0-2 (3 = 0), logvar 0. */
export const vaeDecoder = () =>
  fakeSession([{ name: 'latent_sample', type: 'float32', shape: ['B', 4, 'h', 'w'] }], [{ name: 'sample', type: 'float32', shape: ['B', 3, 'H', 'W'] }], (feeds) => {
    const z = f32(feeds.latent_sample);
    const [B, , h, w] = feeds.latent_sample.dims as number[];
    const [H, W] = [h * 8, w * 8];
    const out = new Float32Array(B * 3 * H * W);
    for (let b = 0; b < B; b++) for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[((b * 3 + c) * H + y) * W + x] = z[((b * 4 + c) * h + (y >> 3)) * w + (x >> 3)];
    return { sample: { data: out, dims: [B, 3, H, W] } };
  });

export const vaeEncoder = () =>
  fakeSession([{ name: 'sample', type: 'float32', shape: [1, 3, 'H', 'W'] }], [{ name: 'latent_parameters', type: 'float32', shape: [1, 8, 'h', 'w'] }], (feeds) => {
    const img = f32(feeds.sample);
    const [, , H, W] = feeds.sample.dims as number[];
    const [h, w] = [H / 8, W / 8];
    const out = new Float32Array(8 * h * w);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[(c * h + (y >> 3)) * w + (x >> 3)] += img[(c * H + y) * W + x] / 64;
    return { latent_parameters: { data: out, dims: [1, 8, h, w] } };
  });

export interface FakeModel extends SdModel<PromptTokenizer> {
  textEncoder: FakeSession;
  unet: FakeSession;
  vaeDecoder: FakeSession;
  vaeEncoder?: FakeSession;
}

export function fakeModel(opts: { channels?: 4 | 9; control?: boolean; latent: [number, number] }): FakeModel {
  const parts = { textEncoder: textEncoder(), unet: unet(opts.channels ?? 4, opts.control ?? false, opts.latent), vaeDecoder: vaeDecoder(), vaeEncoder: vaeEncoder() };
  return { name: 'fake', tokenizer, ...parts, io: describeSdIo(parts), vaeScalingFactor: 0.5, release: async () => {} };
}

export function fakeControlNet(latent: [number, number]): ControlNetModel & { session: FakeSession } {
  const session = controlnet(latent);
  return { name: 'fake-cn', session, io: describeControlNetIo(session), release: async () => {} };
}

/** What generateFromRequest needs, all fake: an 8×8-latent model with ControlNet inputs and these uploads. */
export function fakeDeps(images: ReadonlyMap<string, RasterImage>, patch: Partial<RequestDeps> = {}): RequestDeps {
  return {
    ort,
    model: fakeModel({ latent: [8, 8], control: true }),
    controlNet: async () => fakeControlNet([8, 8]),
    image: async (id) => {
      const image = images.get(id);
      if (!image) throw new Error(`no image ${id}`);
      return image;
    },
    ...patch,
  };
}

/** A deterministic scheduler with simple arithmetic: scale ×0.5, step x − 0.1·eps (drawing one noise per step), addNoise x + n·t/1000. */
export class FakeScheduler implements Scheduler {
  readonly className = 'Fake';
  readonly config = {};
  readonly order = 1;
  readonly numTrainTimesteps = 1000;
  readonly alphasCumprod = new Float32Array(1000);
  readonly timestepsDtype = 'int64' as const;
  readonly initNoiseSigma = 2;
  timesteps: number[] = [];
  readonly stepped: number[] = [];

  setTimesteps(n: number): void {
    this.timesteps = Array.from({ length: n }, (_, i) => 1000 - Math.round(((i + 1) * 1000) / n) + 1);
  }
  scaleModelInput(sample: Float32Array): Float32Array {
    return sample.map((v) => v * 0.5);
  }
  step(eps: Float32Array, t: number, sample: Float32Array, noise?: NoiseSource, shape?: readonly number[]): StepResult {
    noise?.randn(shape ?? [sample.length]);
    this.stepped.push(t);
    return { prevSample: sample.map((v, i) => v - 0.1 * eps[i]) };
  }
  addNoise(original: Float32Array, noise: Float32Array, t: number): Float32Array {
    return original.map((v, i) => v + (noise[i] * t) / 1000);
  }
}

/** Noise i of the queue is filled with value i + 1 (so draws are identifiable); counts draws. */
export class CountingNoise implements NoiseSource {
  draws: number[][] = [];
  randn(shape: readonly number[]): Float32Array {
    this.draws.push([...shape]);
    return new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(this.draws.length);
  }
}
