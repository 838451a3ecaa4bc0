// The one loaded-model shape the pipeline consumes, whether the sessions come from a checkpoint Kirie built
// or from an ONNX folder someone else exported (optimum, diffusers' script, Olive, OnnxStack/Amuse). Exports
// differ in dtypes and names, so what each graph wants is read from its input/output metadata, never guessed
// from folder names.
import type { InferenceSession } from 'onnxruntime-common';
import type { OrtSession } from '../runtime/ort.js';
import { addedTokenWidth, slotsOf, type AdapterSlots } from '../adapters/slots.js';
import type { ModuleTable } from '../adapters/targets.js';
import type { FamilyId } from './family.js';

export type FloatType = 'float32' | 'float16';
export type TimestepIo = { name: string; type: 'int64' | 'float32' | 'float16'; rank: 0 | 1 };

export interface SdModelIo {
  timestep: TimestepIo;
  inputIds: 'int32' | 'int64';
  unetInChannels: 4 | 9;
  unetTakesResiduals: boolean;
  /** latent_parameters = mean and logvar (8 channels); latent_sample = a sample drawn inside the graph. */
  vaeEncoderOutput?: 'latent_parameters' | 'latent_sample';
  /** Float type of every float input/output of the UNet and the VAE (and the text encoder's output). */
  floatType: FloatType;
  /** Present when the graphs take LoRAs and embeddings as inputs (checkpoints Kirie builds). */
  adapters?: AdapterSlots;
  names: {
    textEncoder: { inputIds: string; hiddenState: string };
    /** SDXL's second text encoder: hidden states and the pooled embedding. */
    textEncoder2?: { inputIds: string; hiddenState: string; pooled: string };
    unet: {
      sample: string;
      context: string;
      output: string;
      downResiduals: string[];
      midResidual?: string;
      /** SDXL's added conditioning inputs (pooled text embeddings, time ids). */
      added?: { textEmbeds: string; timeIds: string };
    };
    vaeDecoder: { latent: string; image: string };
    vaeEncoder?: { image: string; latent: string };
  };
}

export interface SdModel<Tokenizer = unknown> {
  /** What was opened: a checkpoint file or an ONNX folder, for messages and recipes. */
  name: string;
  tokenizer: Tokenizer;
  /** The model's family (default SD1.x): how prompts become conditioning, its native sizes. */
  family?: FamilyId;
  /** Families with two text encoders (SDXL): the second one and its tokenizer. */
  tokenizer2?: Tokenizer;
  textEncoder2?: OrtSession;
  textEncoder: OrtSession;
  unet: OrtSession;
  vaeDecoder: OrtSession;
  vaeEncoder?: OrtSession;
  io: SdModelIo;
  /** Latents = VAE latents x this (SD1.5: 0.18215). */
  vaeScalingFactor: number;
  /** diffusers scheduler_config.json of an ONNX folder, when it has one. */
  schedulerConfig?: Record<string, unknown>;
  /**
   * Built checkpoints only: the text encoder for AUTOMATIC1111's "Clip skip" N (N = 1 is `textEncoder`),
   * built and cached on first use; same inputs/outputs as `textEncoder`.
   */
  clipSkip?(n: number): Promise<OrtSession>;
  /**
   * Built checkpoints only: DeepCache's shallow UNet for a cache branch, built and cached on first use. Its
   * `deepcache_feature` input is what `unet`'s output `deepcache_feature_{branch}` gave on the last full call.
   */
  deepCacheUnet?(branch: number): Promise<OrtSession>;
  /** Built checkpoints only: the weights adapter files may change, by every name those files use. */
  adapterTable?: ModuleTable;
  release(): Promise<void>;
}

export interface ControlNetIo {
  sample: string;
  timestep: TimestepIo;
  context: string;
  /** The control image input ([B,3,H,W] in [0,1]). */
  cond: string;
  /** Present when the graph scales its residuals itself (`conditioning_scale`). */
  scale?: { name: string; type: 'float32' | 'float16' | 'float64'; rank: 0 | 1 };
  downResiduals: string[];
  midResidual: string;
  floatType: FloatType;
}

export interface ControlNetModel {
  name: string;
  session: OrtSession;
  io: ControlNetIo;
  release(): Promise<void>;
}

/** The metadata part of a session: what describe* reads (tests pass plain objects). */
export type SessionMetadata = Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>;

type TensorMeta = InferenceSession.TensorValueMetadata;

function tensors(list: readonly InferenceSession.ValueMetadata[]): TensorMeta[] {
  return list.filter((m): m is TensorMeta => m.isTensor);
}

function describeList(list: readonly InferenceSession.ValueMetadata[]): string {
  return tensors(list)
    .map((m) => `${m.name}: ${m.type}[${m.shape.join(',')}]`)
    .join(', ');
}

class Graph {
  constructor(
    readonly component: string,
    readonly meta: SessionMetadata,
  ) {}

  private pick(side: 'input' | 'output', names: readonly string[], fallback?: (m: TensorMeta) => boolean): TensorMeta {
    const list = side === 'input' ? this.meta.inputMetadata : this.meta.outputMetadata;
    const all = tensors(list);
    const found = names.map((n) => all.find((m) => m.name === n)).find((m) => m !== undefined) ?? (fallback ? onlyOne(all.filter(fallback)) : undefined);
    if (!found) {
      throw new Error(`${this.component}: expected an ${side} named ${names.join(' or ')}; the graph has ${side}s ${describeList(list) || '(none)'}`);
    }
    return found;
  }

  input(names: readonly string[], fallback?: (m: TensorMeta) => boolean): TensorMeta {
    return this.pick('input', names, fallback);
  }

  output(names: readonly string[], fallback?: (m: TensorMeta) => boolean): TensorMeta {
    return this.pick('output', names, fallback);
  }

  inputNames(pattern: RegExp): string[] {
    return tensors(this.meta.inputMetadata).map((m) => m.name).filter((n) => pattern.test(n));
  }

  floatType(m: TensorMeta): FloatType {
    if (m.type === 'float32' || m.type === 'float16') return m.type;
    throw new Error(`${this.component}: ${m.name} is ${m.type}, expected float32 or float16`);
  }
}

function onlyOne<T>(list: T[]): T | undefined {
  return list.length === 1 ? list[0] : undefined;
}

const isFloat = (m: TensorMeta) => m.type === 'float32' || m.type === 'float16';
const isRank = (r: number) => (m: TensorMeta) => m.shape.length === r;

function timestepOf(g: Graph): TimestepIo {
  const t = g.input(['timestep', 'timesteps', 't']);
  if (t.type !== 'int64' && t.type !== 'float32' && t.type !== 'float16') {
    throw new Error(`${g.component}: timestep input ${t.name} is ${t.type}, expected int64, float32 or float16`);
  }
  if (t.shape.length > 1) throw new Error(`${g.component}: timestep input ${t.name} has rank ${t.shape.length}, expected 0 or 1`);
  return { name: t.name, type: t.type, rank: t.shape.length as 0 | 1 };
}

/** Residual inputs/outputs in block order: down_block_0 … down_block_N, then the mid block's. */
function residuals(names: string[], component: string): { down: string[]; mid?: string } {
  const down = names
    .map((n) => ({ n, i: /^down_block_(\d+)_additional_residual$/.exec(n)?.[1] }))
    .filter((x): x is { n: string; i: string } => x.i !== undefined)
    .sort((a, b) => Number(a.i) - Number(b.i))
    .map((x) => x.n);
  down.forEach((n, i) => {
    if (n !== `down_block_${i}_additional_residual`) throw new Error(`${component}: residual inputs skip down_block_${i}_additional_residual`);
  });
  return { down, mid: names.find((n) => n === 'mid_block_additional_residual') };
}

export interface SdGraphs {
  textEncoder: SessionMetadata;
  textEncoder2?: SessionMetadata;
  unet: SessionMetadata;
  vaeDecoder: SessionMetadata;
  vaeEncoder?: SessionMetadata;
}

/**
 * Reads what the graphs want from their metadata. `unetInChannelsHint` (e.g. from unet/config.json) is used
 * only when the sample's channel dimension is symbolic.
 */
export function describeSdIo(graphs: SdGraphs, unetInChannelsHint?: number): SdModelIo {
  const te = new Graph('text_encoder', graphs.textEncoder);
  const ids = te.input(['input_ids'], (m) => m.type === 'int32' || m.type === 'int64');
  if (ids.type !== 'int32' && ids.type !== 'int64') throw new Error(`text_encoder: ${ids.name} is ${ids.type}, expected int32 or int64`);
  const hidden = te.output(['last_hidden_state', 'penultimate_hidden_state'], isRank(3));

  const unet = new Graph('unet', graphs.unet);
  const sample = unet.input(['sample'], (m) => isFloat(m) && m.shape.length === 4);
  const floatType = unet.floatType(sample);
  const context = unet.input(['encoder_hidden_states'], (m) => isFloat(m) && m.shape.length === 3);
  const output = unet.output(['out_sample'], isRank(4));
  const channels = typeof sample.shape[1] === 'number' ? sample.shape[1] : unetInChannelsHint;
  if (channels === undefined) throw new Error(`unet: the channel count of ${sample.name} is symbolic (${sample.shape[1]}) and no unet config gives in_channels`);
  if (channels !== 4 && channels !== 9) throw new Error(`unet: ${sample.name} has ${channels} channels; only 4 (text-to-image) and 9 (inpainting) are supported`);
  const res = residuals(unet.inputNames(/additional_residual$/), 'unet');
  const textEmbeds = unet.inputNames(/^text_embeds$/)[0];
  const timeIds = unet.inputNames(/^time_ids$/)[0];
  if ((textEmbeds === undefined) !== (timeIds === undefined)) throw new Error('unet: SDXL added conditioning needs both text_embeds and time_ids inputs');
  let textEncoder2: SdModelIo['names']['textEncoder2'];
  if (graphs.textEncoder2) {
    const te2 = new Graph('text_encoder_2', graphs.textEncoder2);
    const ids2 = te2.input(['input_ids'], (m) => m.type === ids.type);
    if (ids2.type !== ids.type) throw new Error(`text_encoder_2: ${ids2.name} is ${ids2.type} while text_encoder's is ${ids.type}`);
    textEncoder2 = { inputIds: ids2.name, hiddenState: te2.output(['penultimate_hidden_state'], isRank(3)).name, pooled: te2.output(['text_embeds'], isRank(2)).name };
  }
  if (res.down.length > 0 !== (res.mid !== undefined)) throw new Error('unet: ControlNet residual inputs are incomplete (need down_block_*_additional_residual and mid_block_additional_residual)');

  const dec = new Graph('vae_decoder', graphs.vaeDecoder);
  const latent = dec.input(['latent_sample'], isRank(4));
  const image = dec.output(['sample'], isRank(4));

  let encoder: SdModelIo['names']['vaeEncoder'];
  let vaeEncoderOutput: SdModelIo['vaeEncoderOutput'];
  if (graphs.vaeEncoder) {
    const enc = new Graph('vae_encoder', graphs.vaeEncoder);
    const encIn = enc.input(['sample'], isRank(4));
    const encOut = enc.output(['latent_parameters', 'latent_sample']);
    encoder = { image: encIn.name, latent: encOut.name };
    vaeEncoderOutput = encOut.name as 'latent_parameters' | 'latent_sample';
    checkSameFloat(floatType, [enc, encIn], [enc, encOut]);
  }
  checkSameFloat(floatType, [unet, context], [unet, output], [dec, latent], [dec, image], [te, hidden]);

  const unetSlots = slotsOf(graphs.unet);
  const textSlots = slotsOf(graphs.textEncoder);
  const text2Slots = graphs.textEncoder2 ? slotsOf(graphs.textEncoder2) : [];
  const tokenWidth = addedTokenWidth(graphs.textEncoder);
  const tokenWidth2 = graphs.textEncoder2 ? addedTokenWidth(graphs.textEncoder2) : undefined;
  const adapters =
    unetSlots.length > 0 || textSlots.length > 0 || text2Slots.length > 0 || tokenWidth !== undefined
      ? { unet: unetSlots, textEncoder: textSlots, ...(text2Slots.length > 0 ? { textEncoder2: text2Slots } : {}), addedTokenWidth: tokenWidth, ...(tokenWidth2 !== undefined ? { addedTokenWidth2: tokenWidth2 } : {}) }
      : undefined;
  return {
    timestep: timestepOf(unet),
    inputIds: ids.type,
    ...(adapters ? { adapters } : {}),
    unetInChannels: channels,
    unetTakesResiduals: res.mid !== undefined,
    vaeEncoderOutput,
    floatType,
    names: {
      textEncoder: { inputIds: ids.name, hiddenState: hidden.name },
      ...(textEncoder2 ? { textEncoder2 } : {}),
      unet: {
        sample: sample.name,
        context: context.name,
        output: output.name,
        downResiduals: res.down,
        midResidual: res.mid,
        ...(textEmbeds && timeIds ? { added: { textEmbeds, timeIds } } : {}),
      },
      vaeDecoder: { latent: latent.name, image: image.name },
      vaeEncoder: encoder,
    },
  };
}

function checkSameFloat(expected: FloatType, ...values: [Graph, TensorMeta][]): void {
  for (const [g, m] of values) {
    const t = g.floatType(m);
    if (t !== expected) throw new Error(`${g.component}: ${m.name} is ${t} while the UNet uses ${expected}; mixed float16/float32 models are not supported`);
  }
}

export function describeControlNetIo(meta: SessionMetadata): ControlNetIo {
  const g = new Graph('controlnet', meta);
  const sample = g.input(['sample'], (m) => isFloat(m) && m.shape.length === 4 && m.shape[1] === 4);
  const floatType = g.floatType(sample);
  const context = g.input(['encoder_hidden_states'], (m) => isFloat(m) && m.shape.length === 3);
  const cond = g.input(['controlnet_cond', 'cond', 'hint', 'controlnet_condition'], (m) => isFloat(m) && m.shape.length === 4 && m.name !== sample.name);
  const scaleMeta = tensors(meta.inputMetadata).find((m) => m.name === 'conditioning_scale');
  let scale: ControlNetIo['scale'];
  if (scaleMeta) {
    if (scaleMeta.type !== 'float32' && scaleMeta.type !== 'float16' && scaleMeta.type !== 'float64') {
      throw new Error(`controlnet: conditioning_scale is ${scaleMeta.type}, expected a float`);
    }
    scale = { name: scaleMeta.name, type: scaleMeta.type, rank: scaleMeta.shape.length === 0 ? 0 : 1 };
  }
  const outNames = tensors(meta.outputMetadata).map((m) => m.name);
  const res = residuals(outNames, 'controlnet');
  if (res.down.length === 0 || !res.mid) {
    throw new Error(`controlnet: expected outputs down_block_{0..N}_additional_residual and mid_block_additional_residual; the graph has outputs ${describeList(meta.outputMetadata)}`);
  }
  return { sample: sample.name, timestep: timestepOf(g), context: context.name, cond: cond.name, scale, downResiduals: res.down, midResidual: res.mid, floatType };
}
