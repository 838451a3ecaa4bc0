// Applying adapters to built graphs without rebuilding them. Every adaptable weight W of a graph built with
// `adapterSlots` takes a low-rank pair of graph inputs (names below), and the text encoder reads added-token
// rows from an input. Switching a LoRA or a multiplier only changes what is fed: the factors of every active
// file stacked along the rank axis, each file's up factor pre-multiplied by its multiplier and alpha/r, so
// W' = W + Σ multiplier·ΔW exactly as a merge (float rounding aside). A slot no file touches gets a rank-1
// zero pair. Nothing of the base graph is rebuilt, copied or re-uploaded; a multiplier change rescales the up
// factors only (down factors are fed as read, without a copy, when one file touches a layer).
//
// How a layer uses its pair is the layer builder's choice (core/src/models/onnx/layers.ts: linear() merges
// Wᵀ + downᵀ·upᵀ per run or adds a side branch (x·downᵀ)·upᵀ, whichever costs less for the rows it multiplies;
// conv() always takes a side branch up ⊛ (down ⊛ x), since a Conv whose weight is not a constant loses ONNX
// Runtime's NCHWc kernels on the CPU). OpenCLIP's packed q/k/v projection takes one slot whose up factor has
// zero rows outside each adapter module's block (targets.ts IN_PROJ). Merging into constant weights instead
// means a new session per switch (reopening the full-size UNet: tens of seconds), which the issue rules out.
// On a GPU the base weights stay on the device; per switch only the factors change, and each run uploads
// them with its inputs (~130 MB fp32 / ~65 MB fp16 for a rank-32 LoRA on every layer, a few ms over PCIe).
import type { InferenceSession } from 'onnxruntime-common';
import { float32ToHalf } from '../models/safetensors.js';
import { ADDED_TOKENS_INPUT } from '../models/text-encoder.js';
import type { Embedding } from './embedding.js';
import { EmbeddingTokenizer } from './embedding.js';
import type { LoraAdapter, ModuleFactors } from './lora.js';
import type { AdapterTarget } from './targets.js';

const DOWN_PREFIX = 'lora_down.';
const UP_PREFIX = 'lora_up.';

export interface AdapterSlot {
  module: string;
  layer: 'linear' | 'conv';
  out: number;
  /** Conv: [cin, kh, kw]; linear: [cin]. */
  input: number[];
}

export interface AdapterSlots {
  unet: AdapterSlot[];
  textEncoder: AdapterSlot[];
  /** SDXL's second text encoder (OpenCLIP); absent for one-encoder families. */
  textEncoder2?: AdapterSlot[];
  /** Width of the text encoder's added-token rows (its hidden size), when the graph takes them. */
  addedTokenWidth?: number;
  /** The same for SDXL's second text encoder (OpenCLIP), when its graph takes them. */
  addedTokenWidth2?: number;
}

type Meta = Pick<InferenceSession, 'inputMetadata'>;

function fixedDims(m: InferenceSession.ValueMetadata, at: number[]): number[] {
  if (!m.isTensor) throw new Error(`${m.name} is not a tensor input`);
  return at.map((i) => {
    const d = m.shape[i];
    if (typeof d !== 'number') throw new Error(`${m.name}: dimension ${i} is symbolic (${String(d)})`);
    return d;
  });
}

/** The slots a graph has, read from its input names and shapes. */
export function slotsOf(meta: Meta): AdapterSlot[] {
  const byName = new Map(meta.inputMetadata.map((m) => [m.name, m]));
  const slots: AdapterSlot[] = [];
  for (const m of meta.inputMetadata) {
    if (!m.name.startsWith(DOWN_PREFIX) || !m.isTensor) continue;
    const module = m.name.slice(DOWN_PREFIX.length);
    const up = byName.get(UP_PREFIX + module);
    if (!up) throw new Error(`${m.name} has no ${UP_PREFIX}${module} beside it`);
    const layer = m.shape.length === 4 ? 'conv' : 'linear';
    slots.push({ module, layer, out: fixedDims(up, [0])[0]!, input: fixedDims(m, layer === 'conv' ? [1, 2, 3] : [1]) });
  }
  return slots;
}

export function addedTokenWidth(meta: Meta): number | undefined {
  const m = meta.inputMetadata.find((v) => v.name === ADDED_TOKENS_INPUT);
  return m ? fixedDims(m, [1])[0] : undefined;
}

/** A feed as plain data: the pipeline wraps it in a tensor of the graph's float type for each run. */
export interface FeedData {
  name: string;
  data: Float32Array | Uint16Array;
  dims: number[];
}

export interface AdapterFeeds {
  unet: FeedData[];
  textEncoder: FeedData[];
  textEncoder2: FeedData[];
}

export interface ActiveLora {
  adapter: LoraAdapter;
  unet: number;
  textEncoder: number;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * The factor pair of one slot, every active module stacked along the rank axis: down [R, in·kh·kw] (rows
 * stacked), up [out, R] (columns stacked, each pre-multiplied). The layout LoRA files use, for linear and conv
 * slots alike, so a slot with one module is fed its down factor as read, without a copy.
 */
function slotFeeds(slot: AdapterSlot, parts: { f: ModuleFactors; scale: number }[]): { down: Float32Array; up: Float32Array; rank: number } {
  const inFlat = product(slot.input);
  if (parts.length === 0) return { down: new Float32Array(inFlat), up: new Float32Array(slot.out), rank: 1 };
  const rank = parts.reduce((n, p) => n + p.f.rank, 0);
  let down: Float32Array;
  if (parts.length === 1) down = parts[0]!.f.down;
  else {
    down = new Float32Array(rank * inFlat);
    let at = 0;
    for (const { f } of parts) {
      down.set(f.down, at);
      at += f.down.length;
    }
  }
  const up = new Float32Array(slot.out * rank);
  let r0 = 0;
  for (const { f, scale } of parts) {
    const from = f.up;
    const r1 = f.rank;
    for (let o = 0; o < slot.out; o++) {
      const src = o * r1;
      const dst = o * rank + r0;
      for (let r = 0; r < r1; r++) up[dst + r] = from[src + r]! * scale;
    }
    r0 += r1;
  }
  return { down, up, rank };
}

// float16 graphs (GPU): a file's down factors are converted once, not on every multiplier change.
const halves = new WeakMap<Float32Array, Uint16Array>();

function encode(data: Float32Array, half: boolean): Float32Array | Uint16Array {
  if (!half) return data;
  if (!halves.has(data)) halves.set(data, float32ToHalf(data));
  return halves.get(data)!;
}

function componentFeeds(slots: readonly AdapterSlot[], active: readonly ActiveLora[], target: AdapterTarget, half: boolean): FeedData[] {
  const byModule = new Map<string, { f: ModuleFactors; scale: number }[]>();
  for (const a of active) {
    // A1111: the te multiplier is for both of SDXL's text encoders.
    const multiplier = target === 'unet' ? a.unet : a.textEncoder;
    if (multiplier === 0) continue;
    for (const f of a.adapter.modules) {
      if (f.target !== target) continue;
      if (!byModule.has(f.module)) byModule.set(f.module, []);
      byModule.get(f.module)!.push({ f, scale: multiplier * f.scale });
    }
  }
  const feeds: FeedData[] = [];
  for (const slot of slots) {
    const { down, up, rank } = slotFeeds(slot, byModule.get(slot.module) ?? []);
    const downDims = [rank, ...slot.input];
    const upDims = slot.layer === 'linear' ? [slot.out, rank] : [slot.out, rank, 1, 1];
    feeds.push({ name: DOWN_PREFIX + slot.module, data: encode(down, half), dims: downDims }, { name: UP_PREFIX + slot.module, data: encode(up, half), dims: upDims });
  }
  return feeds;
}

/**
 * Feeds for a set of LoRAs and embeddings on graphs with `slots`. Modules of a file a graph has no slot for
 * (text-encoder layers a clip skip drops) are skipped; every module was matched to the model when read.
 */
export function adapterFeeds(slots: AdapterSlots, loras: readonly ActiveLora[], embeddings: readonly Embedding[], half: boolean): AdapterFeeds {
  const textEncoder = componentFeeds(slots.textEncoder, loras, 'text_encoder', half);
  const textEncoder2 = componentFeeds(slots.textEncoder2 ?? [], loras, 'text_encoder_2', half);
  addedTokenFeed(textEncoder, slots.addedTokenWidth, embeddings, 0, half);
  if (slots.textEncoder2 !== undefined || slots.addedTokenWidth2 !== undefined) addedTokenFeed(textEncoder2, slots.addedTokenWidth2, embeddings, 1, half);
  return { unet: componentFeeds(slots.unet, loras, 'unet', half), textEncoder, textEncoder2 };
}

/** The added-token rows of one text encoder (a zero row when no embedding is active: the input is always fed). */
function addedTokenFeed(feeds: FeedData[], width: number | undefined, embeddings: readonly Embedding[], encoder: 0 | 1, half: boolean): void {
  if (width === undefined) {
    if (embeddings.length > 0) throw new Error('this text encoder graph takes no added tokens: embeddings need a model Kirie builds from a checkpoint');
    return;
  }
  const rows = Math.max(1, embeddings.reduce((n, e) => n + e.count, 0));
  const table = new Float32Array(rows * width);
  table.set(EmbeddingTokenizer.table(embeddings, width, encoder));
  feeds.push({ name: ADDED_TOKENS_INPUT, data: encode(table, half), dims: [rows, width] });
}
