// Verify kind for tests/golden/components: builds every SD1.5 component graph from the tiny LDM
// checkpoints with core/src/models/build.ts, runs it with onnxruntime-node on the CPU (or the provider
// verify is given) and compares with the diffusers/transformers reference outputs within the golden README's
// tolerances (on WebGPU: its measured ones, webgpu-tolerances.ts).
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildComponent } from '@kirie/core/models/build';
import type { BuildOptions, Component } from '@kirie/core/models/types';
import { openCheckpoint, type OpenedCheckpoint as Checkpoint } from '../../models/checkpoint.js';
import { allClose } from '../compare.js';
import { readNpy } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';
import type { Provider } from '../../runtime/session.js';
import { WEBGPU_COMPONENT_TOLERANCES, type ComponentCheck } from '../webgpu-tolerances.js';

/** README "Measured float32 sensitivity and recommended tolerances". */
const TOL = { text: 1e-4, unet: 2e-4, vae: 1e-4, controlnet: 2e-4 } as const;

const CPU_TOL: Record<ComponentCheck, number> = {
  text_encoder: TOL.text,
  vae_decode: TOL.vae,
  vae_encode: TOL.vae,
  unet: TOL.unet,
  unet_inpaint: TOL.unet,
  controlnet: TOL.controlnet,
  controlnet_unet: TOL.unet,
};

function tolerance(check: ComponentCheck, provider: Provider): number {
  if (provider === 'cpu') return CPU_TOL[check];
  if (provider === 'webgpu') return WEBGPU_COMPONENT_TOLERANCES[check].atol;
  throw new Error(`no measured tolerances for ${provider}`);
}

/** A tiny checkpoint of the golden tree, opened (and its sidecar YAML read) as a user's checkpoint is. */
function openTiny(root: string, name: string): Promise<Checkpoint> {
  return openCheckpoint(join(root, 'tiny-sd15', `${name}.safetensors`));
}

export async function sessionFor(ckpt: Checkpoint, component: Component, options: Partial<BuildOptions> = {}, provider: Provider = 'cpu'): Promise<ort.InferenceSession> {
  const bytes = await buildComponent(component, ckpt.file, ckpt.arch, { precision: 'fp32', ...options, ...(provider === 'webgpu' ? { webgpu: true } : {}) });
  return ort.InferenceSession.create(bytes, { executionProviders: [provider], intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
}

export function f32(path: string): ort.Tensor {
  const a = readNpy(path);
  return new ort.Tensor('float32', Float32Array.from(a.data as ArrayLike<number>), a.shape);
}

export function check(name: string, actual: ArrayLike<number>, expectedPath: string, tol: number): CaseResult {
  const expected = readNpy(expectedPath);
  if (actual.length !== expected.data.length) {
    return { case: name, kind: 'components', maxAbsDiff: Number.POSITIVE_INFINITY, tolerance: tol, pass: false, detail: `got ${actual.length} values, expected ${expected.data.length} [${expected.shape}]` };
  }
  const r = allClose(actual, expected.data, tol);
  return { case: name, kind: 'components', maxAbsDiff: r.maxAbsDiff, tolerance: tol, pass: r.pass };
}

interface TextItem {
  input_ids: number[];
  last_hidden_state?: string;
  output?: string;
  clip_skip?: number;
}

async function* textEncoderCases(dir: string, ckpt: Checkpoint, cases: Record<string, any>, provider: Provider): AsyncGenerator<CaseResult> {
  const sessions = new Map<number, ort.InferenceSession>();
  const run = async (item: TextItem, clipSkip: number) => {
    if (!sessions.has(clipSkip)) sessions.set(clipSkip, await sessionFor(ckpt, 'text_encoder', { clipSkip }, provider));
    const ids = new ort.Tensor('int32', Int32Array.from(item.input_ids), [1, item.input_ids.length]);
    const out = await sessions.get(clipSkip)!.run({ input_ids: ids });
    return out.last_hidden_state.data as Float32Array;
  };
  const items: TextItem[] = cases.text_encoder.items;
  for (const [i, item] of items.entries()) {
    yield check(`components/text_encoder.${i}`, await run(item, 1), join(dir, item.last_hidden_state!), tolerance('text_encoder', provider));
  }
  const skipItems: TextItem[] = cases.text_encoder_clip_skip.items;
  for (const [i, item] of skipItems.entries()) {
    yield check(`components/text_encoder_clip_skip.${i}(N=${item.clip_skip})`, await run(item, item.clip_skip!), join(dir, item.output!), tolerance('text_encoder', provider));
  }
  for (const s of sessions.values()) await s.release();
}

/** Channels [from, to) of an NCHW float array. */
function channels(data: Float32Array, dims: readonly number[], from: number, to: number): Float32Array {
  const [b, c, h, w] = dims;
  const plane = h * w;
  const out = new Float32Array(b * (to - from) * plane);
  for (let n = 0; n < b; n++) out.set(data.subarray((n * c + from) * plane, (n * c + to) * plane), n * (to - from) * plane);
  return out;
}

export async function* vaeCases(dir: string, ckpt: Checkpoint, cases: Record<string, any>, provider: Provider = 'cpu'): AsyncGenerator<CaseResult> {
  const scale = ckpt.arch.vae.scaleFactor;
  const dec = cases.vae_decode;
  const decoder = await sessionFor(ckpt, 'vae_decoder', {}, provider);
  const latents = f32(join(dir, dec.latents));
  const input = new ort.Tensor('float32', (latents.data as Float32Array).map((v) => v / scale), latents.dims);
  const raw = (await decoder.run({ latent_sample: input })).sample;
  const rawData = raw.data as Float32Array;
  yield check('components/vae_decode.raw', rawData, join(dir, dec.raw), tolerance('vae_decode', provider));
  const [, c, h, w] = raw.dims;
  const hwc = new Float32Array(rawData.length);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) hwc[i * c + ch] = Math.min(1, Math.max(0, rawData[ch * h * w + i] / 2 + 0.5));
  }
  yield check('components/vae_decode.image_hwc', hwc, join(dir, dec.image_hwc), tolerance('vae_decode', provider));
  await decoder.release();

  const enc = cases.vae_encode;
  const encoder = await sessionFor(ckpt, 'vae_encoder', {}, provider);
  const params = (await encoder.run({ sample: f32(join(dir, enc.input)) })).latent_parameters;
  const half = params.dims[1] / 2;
  const mean = channels(params.data as Float32Array, params.dims, 0, half);
  const std = channels(params.data as Float32Array, params.dims, half, 2 * half).map((lv) => Math.exp(0.5 * Math.min(20, Math.max(-30, lv))));
  yield check('components/vae_encode.mean', mean, join(dir, enc.mean), tolerance('vae_encode', provider));
  yield check('components/vae_encode.std', std, join(dir, enc.std), tolerance('vae_encode', provider));
  yield check('components/vae_encode.mean_scaled', mean.map((v) => v * scale), join(dir, enc.mean_scaled), tolerance('vae_encode', provider));
  await encoder.release();
}

async function* unetCases(dir: string, ckpt: Checkpoint, name: 'unet' | 'unet_inpaint', c: Record<string, any>, provider: Provider): AsyncGenerator<CaseResult> {
  const unet = await sessionFor(ckpt, 'unet', {}, provider);
  const sample = f32(join(dir, c.sample));
  const context = f32(join(dir, c.encoder_hidden_states));
  for (const item of c.items as { timestep: number; output: string }[]) {
    const timestep = new ort.Tensor('float32', Float32Array.of(item.timestep), [1]);
    const out = await unet.run({ sample, timestep, encoder_hidden_states: context });
    yield check(`components/${name}.t${item.timestep}`, out.out_sample.data as Float32Array, join(dir, item.output), tolerance(name, provider));
  }
  await unet.release();
}

async function* controlNetCases(dir: string, base: Checkpoint, control: Checkpoint, c: Record<string, any>, provider: Provider): AsyncGenerator<CaseResult> {
  const controlnet = await sessionFor(control, 'controlnet', {}, provider);
  const unet = await sessionFor(base, 'unet', { controlResiduals: true }, provider);
  const sample = f32(join(dir, c.sample));
  const encoder_hidden_states = f32(join(dir, c.encoder_hidden_states));
  const timestep = new ort.Tensor('float32', Float32Array.of(c.timestep), [1]);
  for (const item of c.items as Record<string, any>[]) {
    const s = item.conditioning_scale as number;
    const out = await controlnet.run({
      sample,
      timestep,
      encoder_hidden_states,
      controlnet_cond: f32(join(dir, c.controlnet_cond)),
      conditioning_scale: new ort.Tensor('float32', Float32Array.of(s), [1]),
    });
    const names = [...(item.down_residuals as string[]).map((_, i) => `down_block_${i}_additional_residual`), 'mid_block_additional_residual'];
    const files = [...item.down_residuals, item.mid_residual] as string[];
    for (const [i, n] of names.entries()) {
      yield check(`components/controlnet.s${s}.${n}`, out[n].data as Float32Array, join(dir, files[i]), tolerance('controlnet', provider));
    }
    const residuals = Object.fromEntries(names.map((n) => [n, out[n]]));
    const withResiduals = await unet.run({ sample, timestep, encoder_hidden_states, ...residuals });
    yield check(`components/controlnet.s${s}.unet_output_with_residuals`, withResiduals.out_sample.data as Float32Array, join(dir, item.unet_output_with_residuals), tolerance('controlnet_unet', provider));
  }
  await controlnet.release();
  await unet.release();
}

export const componentsKind: VerifyKind = {
  kind: 'components',
  matches(file: CaseFile): boolean {
    const cases = file.json.cases as Record<string, unknown> | undefined;
    return !!cases && 'text_encoder' in cases && 'unet' in cases && 'vae_decode' in cases;
  },
  providers: ['cpu', 'webgpu'],
  async *run(file: CaseFile, provider: Provider = 'cpu'): AsyncIterable<CaseResult> {
    if (!file.root) throw new Error(`${file.path}: no tiny-sd15/ folder above this case directory`);
    const cases = file.json.cases as Record<string, any>;
    const base = await openTiny(file.root, 'tiny-sd15');
    try {
      yield* textEncoderCases(file.dir, base, cases, provider);
      yield* vaeCases(file.dir, base, cases, provider);
      yield* unetCases(file.dir, base, 'unet', cases.unet, provider);
      const control = await openTiny(file.root, 'tiny-controlnet');
      try {
        yield* controlNetCases(file.dir, base, control, cases.controlnet, provider);
      } finally {
        await control.file.close();
      }
    } finally {
      await base.file.close();
    }
    const inpaint = await openTiny(file.root, 'tiny-sd15-inpainting');
    try {
      yield* unetCases(file.dir, inpaint, 'unet_inpaint', cases.unet_inpaint, provider);
    } finally {
      await inpaint.file.close();
    }
  },
};
