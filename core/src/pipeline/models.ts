// The networks as the loop calls them, over the loaded-model contract (core/src/models/sessions.ts):
// float32 arrays in and out whatever the graphs' float type, names and timestep dtype taken from the
// model's `io`. Every tensor is disposed as soon as its data has been read.
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { float32ToHalf, tensorToFloat32 } from '../models/safetensors.js';
import type { ControlNetModel, FloatType, SdModel, TimestepIo } from '../models/sessions.js';
import type { OrtModule, OrtSession } from '../runtime/ort.js';
import { adapterFeeds, type AdapterFeeds, type FeedData } from '../adapters/slots.js';
import { DEEPCACHE_FEATURE_INPUT, deepCacheFeatureName } from '../models/unet.js';
import { decodeGrid, decodeTiles, encodeGrid, encodeTiles, tiled, type VaeTiling } from './vae-tiling.js';

export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** SDXL's added conditioning, one row per UNet batch row: pooled text embeddings [B, P] and time ids [B, 6]. */
export interface AddedConditioning {
  textEmbeds: FloatTensor;
  timeIds: FloatTensor;
}

/** The UNet's context [B, S, D], with the added conditioning when the model's family has it. */
export interface Conditioning extends FloatTensor {
  added?: AddedConditioning;
}

/** ControlNet residuals: one per UNet skip, then the mid block's, each [B,C,h,w]. */
export interface Residuals {
  down: FloatTensor[];
  mid: FloatTensor;
}

type Feeds = Record<string, Tensor>;

function floatTensor(ort: OrtModule, type: FloatType, data: Float32Array, dims: readonly number[]): Tensor {
  return type === 'float16' ? new ort.Tensor('float16', float32ToHalf(data), dims) : new ort.Tensor('float32', data, dims);
}

function toFloat32(t: Tensor, name: string): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const half = t.data as Uint16Array;
    return tensorToFloat32(new Uint8Array(half.buffer, half.byteOffset, half.byteLength), 'F16', name);
  }
  throw new Error(`model output ${name} is ${t.type}, expected a float tensor`);
}

function timestepTensor(ort: OrtModule, io: TimestepIo, t: number, batch: number): Tensor {
  const dims = io.rank === 0 ? [] : [batch];
  const n = io.rank === 0 ? 1 : batch;
  if (io.type === 'int64') return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.round(t))), dims);
  return floatTensor(ort, io.type, new Float32Array(n).fill(t), dims);
}

/** Runs a session, copies out the named outputs as float32, and releases every tensor involved. */
async function run(session: OrtSession, feeds: Feeds, outputs: readonly string[]): Promise<FloatTensor[]> {
  let result: InferenceSession.OnnxValueMapType;
  try {
    // Only what is read: a graph may have outputs a run does not need (DeepCache features).
    result = await session.run(feeds, outputs);
  } finally {
    for (const t of Object.values(feeds)) t.dispose();
  }
  try {
    return outputs.map((name) => {
      const t = result[name];
      if (!t) throw new Error(`model output ${name} missing (got ${Object.keys(result).join(', ')})`);
      return { data: toFloat32(t, name), dims: [...t.dims] };
    });
  } finally {
    for (const t of Object.values(result)) t.dispose();
  }
}

const noAdapters = new WeakMap<SdModel['io'], AdapterFeeds>();

/** What a model's adapter inputs get when the request names no LoRA or embedding (built once per model). */
export function idleAdapterFeeds(model: SdModel): AdapterFeeds | undefined {
  const slots = model.io.adapters;
  if (!slots) return undefined;
  if (!noAdapters.has(model.io)) noAdapters.set(model.io, adapterFeeds(slots, [], [], model.io.floatType === 'float16'));
  return noAdapters.get(model.io);
}

/** Adds the adapter feeds a session takes (a clip-skip text encoder has fewer layers, so fewer slots). */
function withAdapters(ort: OrtModule, session: OrtSession, feeds: Feeds, extra: readonly FeedData[] | undefined): Feeds {
  if (!extra) return feeds;
  const wanted = new Set(session.inputNames);
  for (const f of extra) {
    if (!wanted.has(f.name)) continue;
    feeds[f.name] = f.data instanceof Uint16Array ? new ort.Tensor('float16', f.data, f.dims) : new ort.Tensor('float32', f.data, f.dims);
  }
  return feeds;
}

function idsTensor(ort: OrtModule, model: SdModel, ids: readonly number[]): Tensor {
  return model.io.inputIds === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length])
    : new ort.Tensor('int32', Int32Array.from(ids), [1, ids.length]);
}

/** [1,77] token ids → [1,77,D] hidden states. */
export async function encodeText(ort: OrtModule, model: SdModel, ids: readonly number[], adapters?: AdapterFeeds): Promise<Float32Array> {
  const names = model.io.names.textEncoder;
  const feeds = withAdapters(ort, model.textEncoder, { [names.inputIds]: idsTensor(ort, model, ids) }, (adapters ?? idleAdapterFeeds(model))?.textEncoder);
  return (await run(model.textEncoder, feeds, [names.hiddenState]))[0].data;
}

/** [1,77] ids → the second text encoder's [1,77,W] hidden states and [1,P] pooled embedding (SDXL). */
export async function encodeTextPooled(ort: OrtModule, model: SdModel, ids: readonly number[], adapters?: AdapterFeeds): Promise<{ hidden: Float32Array; pooled: Float32Array }> {
  const names = model.io.names.textEncoder2;
  if (!model.textEncoder2 || !names) throw new Error(`${model.name} has no second text encoder`);
  const feeds = withAdapters(ort, model.textEncoder2, { [names.inputIds]: idsTensor(ort, model, ids) }, (adapters ?? idleAdapterFeeds(model))?.textEncoder2);
  const [hidden, pooled] = await run(model.textEncoder2, feeds, [names.hiddenState, names.pooled]);
  return { hidden: hidden.data, pooled: pooled.data };
}

/**
 * Zeros for "no control on this step" (diffusers then runs the ControlNet at scale 0: exactly zeros), for
 * a UNet graph built with residual inputs.
 * SD's skips come 3 per level (2 res blocks + a stride-2 downsample giving ceil(size/2)), the mid block at
 * the last level; channels come from the UNet's input metadata.
 */
export function zeroResiduals(model: SdModel, latentDims: readonly number[]): Residuals {
  const [batch, , h, w] = latentDims;
  const names = model.io.names.unet;
  const tensorOf = (name: string, level: number): FloatTensor => {
    const m = model.unet.inputMetadata.find((v) => v.name === name);
    const channels = m && m.isTensor ? m.shape[1] : undefined;
    if (typeof channels !== 'number') throw new Error(`unet: ${name} has no fixed channel count in its metadata`);
    let [y, x] = [h, w];
    for (let i = 0; i < level; i++) [y, x] = [Math.ceil(y / 2), Math.ceil(x / 2)];
    return { data: new Float32Array(batch * channels * y * x), dims: [batch, channels, y, x] };
  };
  const levels = Math.ceil(names.downResiduals.length / 3);
  return { down: names.downResiduals.map((n, i) => tensorOf(n, Math.floor(i / 3))), mid: tensorOf(names.midResidual!, levels - 1) };
}

function unetFeeds(
  ort: OrtModule,
  model: SdModel,
  session: OrtSession,
  input: FloatTensor,
  t: number,
  context: Conditioning,
  residuals: Residuals | null,
  adapters: AdapterFeeds | undefined,
): Feeds {
  const { io } = model;
  const names = io.names.unet;
  if (residuals && !io.unetTakesResiduals) throw new Error('this UNet graph takes no ControlNet residuals: load the model with ControlNet support');
  const feeds: Feeds = {
    [names.sample]: floatTensor(ort, io.floatType, input.data, input.dims),
    [io.timestep.name]: timestepTensor(ort, io.timestep, t, input.dims[0]),
    [names.context]: floatTensor(ort, io.floatType, context.data, context.dims),
  };
  if (names.added) {
    const added = context.added;
    if (!added) throw new Error(`${model.name}'s UNet takes pooled text embeddings and time ids (SDXL): the conditioning has none`);
    feeds[names.added.textEmbeds] = floatTensor(ort, io.floatType, added.textEmbeds.data, added.textEmbeds.dims);
    // Time ids stay float32: the graph embeds them in float32 whatever its precision.
    feeds[names.added.timeIds] = new ort.Tensor('float32', added.timeIds.data, added.timeIds.dims);
  }
  if (io.unetTakesResiduals && session === model.unet) {
    if (!residuals) throw new Error('this UNet graph takes ControlNet residuals: pass zeroResiduals() when no unit acts');
    const r = residuals;
    if (r.down.length !== names.downResiduals.length) throw new Error(`the ControlNet gives ${r.down.length} skip residuals, the UNet takes ${names.downResiduals.length}`);
    names.downResiduals.forEach((name, i) => (feeds[name] = floatTensor(ort, io.floatType, r.down[i].data, r.down[i].dims)));
    feeds[names.midResidual!] = floatTensor(ort, io.floatType, r.mid.data, r.mid.dims);
  }
  return withAdapters(ort, session, feeds, (adapters ?? idleAdapterFeeds(model))?.unet);
}

export async function predictNoise(
  ort: OrtModule,
  model: SdModel,
  input: FloatTensor,
  t: number,
  context: Conditioning,
  residuals: Residuals | null,
  adapters?: AdapterFeeds,
): Promise<Float32Array> {
  const feeds = unetFeeds(ort, model, model.unet, input, t, context, residuals, adapters);
  return (await run(model.unet, feeds, [model.io.names.unet.output]))[0].data;
}

/** A full DeepCache call: the noise prediction and the feature its shallow calls start from. */
export async function predictNoiseCaching(
  ort: OrtModule,
  model: SdModel,
  input: FloatTensor,
  t: number,
  context: Conditioning,
  residuals: Residuals | null,
  branch: number,
  adapters?: AdapterFeeds,
): Promise<{ noise: Float32Array; feature: FloatTensor }> {
  const name = deepCacheFeatureName(branch);
  if (!model.unet.outputNames.includes(name)) throw new Error(`${model.name}'s UNet graph gives no DeepCache features: only checkpoints Kirie builds itself (.safetensors) can use DeepCache`);
  const feeds = unetFeeds(ort, model, model.unet, input, t, context, residuals, adapters);
  const [noise, feature] = await run(model.unet, feeds, [model.io.names.unet.output, name]);
  return { noise: noise.data, feature };
}

/** A shallow DeepCache call: the outer blocks only, entered at the branch by the last full call's feature. */
export async function predictNoiseShallow(
  ort: OrtModule,
  model: SdModel,
  shallow: OrtSession,
  input: FloatTensor,
  t: number,
  context: Conditioning,
  feature: FloatTensor,
  adapters?: AdapterFeeds,
): Promise<Float32Array> {
  const feeds = unetFeeds(ort, model, shallow, input, t, context, null, adapters);
  feeds[DEEPCACHE_FEATURE_INPUT] = floatTensor(ort, model.io.floatType, feature.data, feature.dims);
  return (await run(shallow, feeds, [model.io.names.unet.output]))[0].data;
}

/** One ControlNet's residuals for a step, multiplied by its conditioning scale. */
export async function controlResiduals(ort: OrtModule, net: ControlNetModel, input: FloatTensor, t: number, context: FloatTensor, hint: FloatTensor, scale: number): Promise<Residuals> {
  const { io } = net;
  const feeds: Feeds = {
    [io.sample]: floatTensor(ort, io.floatType, input.data, input.dims),
    [io.timestep.name]: timestepTensor(ort, io.timestep, t, input.dims[0]),
    [io.context]: floatTensor(ort, io.floatType, context.data, context.dims),
    [io.cond]: floatTensor(ort, io.floatType, hint.data, hint.dims),
  };
  if (io.scale) {
    const dims = io.scale.rank === 0 ? [] : [1];
    feeds[io.scale.name] =
      io.scale.type === 'float64' ? new ort.Tensor('float64', new Float64Array([scale]), dims) : floatTensor(ort, io.scale.type, new Float32Array([scale]), dims);
  }
  const outs = await run(net.session, feeds, [...io.downResiduals, io.midResidual]);
  if (!io.scale && scale !== 1) for (const o of outs) for (let i = 0; i < o.data.length; i++) o.data[i] *= scale;
  return { down: outs.slice(0, -1), mid: outs[outs.length - 1] };
}

/**
 * Latents already divided by the scaling factor, [1,4,h,w] → raw image [1,3,8h,8w] (about [-1,1]); with
 * `tiling`, tile by tile as diffusers' enable_tiling() does once a latent side exceeds the tile.
 */
export async function decodeLatents(ort: OrtModule, model: SdModel, latents: FloatTensor, tiling?: VaeTiling, signal?: AbortSignal): Promise<Float32Array> {
  const names = model.io.names.vaeDecoder;
  const decode = async (z: FloatTensor) => (await run(model.vaeDecoder, { [names.latent]: floatTensor(ort, model.io.floatType, z.data, z.dims) }, [names.image]))[0];
  if (!tiling || !decodeTiles(tiling, latents.dims[2], latents.dims[3])) return (await decode(latents)).data;
  const out = await tiled(latents, decodeGrid(tiling), decode, signal);
  const [, , h, w] = latents.dims;
  // Overlaps that do not divide evenly make diffusers' stitched image larger than 8× the latents.
  if (out.dims[2] !== 8 * h || out.dims[3] !== 8 * w) throw new Error(`VAE tiling ${JSON.stringify(tiling)} gives a ${out.dims[3]}x${out.dims[2]} image for ${8 * w}x${8 * h}: use an overlap with int(L·(1−f))·8 = S − int(S·f)`);
  return out.data;
}

/** Image [1,3,H,W] in [-1,1] → the latent distribution's parameters [1,8,H/8,W/8] (mean ‖ logvar, unscaled). */
async function encodeMoments(ort: OrtModule, model: SdModel, image: FloatTensor): Promise<FloatTensor> {
  const names = model.io.names.vaeEncoder;
  if (!model.vaeEncoder || !names) throw new Error(`${model.name} has no VAE encoder: img2img and inpainting need one`);
  if (model.io.vaeEncoderOutput !== 'latent_parameters') throw new Error(`${model.name}'s VAE encoder returns a random sample, not the distribution's parameters: img2img needs the mean`);
  const [out] = await run(model.vaeEncoder, { [names.image]: floatTensor(ort, model.io.floatType, image.data, image.dims) }, [names.latent]);
  if (out.dims[1] !== 8) throw new Error(`VAE encoder output ${names.latent} has ${out.dims[1]} channels: expected 8 (mean, log-variance)`);
  return out;
}

/**
 * Image [1,3,H,W] in [-1,1] → the latent distribution's mean [1,4,H/8,W/8] (unscaled). The mean, not a
 * sample, keeps img2img deterministic; a graph that samples inside cannot give it. With `tiling`, the
 * moments are encoded tile by tile and blended (diffusers' tiled_encode) once an image side exceeds the tile.
 */
export async function encodeImageMean(ort: OrtModule, model: SdModel, image: FloatTensor, tiling?: VaeTiling, signal?: AbortSignal): Promise<Float32Array> {
  const encode = (x: FloatTensor) => encodeMoments(ort, model, x);
  const moments = tiling && encodeTiles(tiling, image.dims[2], image.dims[3]) ? await tiled(image, encodeGrid(tiling), encode, signal) : await encode(image);
  const [, , h, w] = moments.dims;
  return moments.data.slice(0, 4 * h * w);
}
