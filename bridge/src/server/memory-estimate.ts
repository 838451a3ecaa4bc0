// Peak memory of one job, estimated at submit from what the request fixes (size, batch, guidance,
// ControlNets, img2img) and the weights it loads, so the bridge refuses what the machine cannot hold
// instead of swapping for minutes and then failing. Float32 throughout, as the sessions run.
//
// Where the numbers come from:
// - UNet self-attention: the graphs Kirie builds attend through ONNX Runtime's fused MultiHeadAttention
//   (bridge/src/models/load.ts FUSED_ATTENTION), which on the CPU is flash attention: no score matrix at
//   all, and on a GPU the scores are in device memory. Measured, full-size SD1.5 2048² img2img (CFG, VAE
//   tiled), 2 cores: peak RSS 9.05 GiB with the weights, where one head's [2, 65536, 65536] scores alone
//   would be 32 GiB; this estimate gives 9.07 GiB there. An ONNX folder's graph is whatever its exporter
//   wrote: it is counted head by head as the MatMul/Softmax graphs compute it (DEFAULT_ATTENTION_CHUNKS =
//   1): one [unetBatch, N, N] score matrix and its softmax alive at once, N = latent pixels (2 × 128 MB at
//   512² with CFG).
// - The VAE decoder runs one image at a time at full size; its mid-block attention (single head, latent
//   size) is sliced into VAE_ATTENTION_CHUNKS query-row slices (core/src/models/vae.ts): [1, N/16, N]
//   scores + softmax. Its last up block works at ch·chMult[0] channels on full-size maps fed by a
//   ch·chMult[1]-channel upsample.
// - Above the size where that untiled VAE pass would take more than half the budget, the pipeline tiles it
//   (vaeTilingFor, diffusers' enable_tiling with SD1.5's 512 px tiles): one tile's activations, plus the
//   full-size stitched output, the kept tile parts and two rows of decoded tiles for blending.
// - Calibration (measured): the previous session saw 512² SD1.5 txt2img (batch 1, CFG) peak at 5.12 GB with
//   the models resident; taking those as the fp32 v1-5 weights (4.27 GB on disk), this estimate gives
//   5.21 GB there (+2 %). The 4096² × 8 reached 5.5 GB before the first step (latents, embeddings,
//   control images); its first UNet call would need 2·16·262144²·4 B ≈ 8.8 TB of attention scores.
import { readFileSync } from 'node:fs';
import { headsFor, SD15_ARCH, type SdArchitecture } from '@kirie/core/models/arch';
import type { FamilyId } from '@kirie/core/models/family';
import { SDXL_ARCH } from '@kirie/core/models/sdxl-arch';
import { DEFAULT_ATTENTION_CHUNKS } from '@kirie/core/models/build';
import { VAE_ATTENTION_CHUNKS } from '@kirie/core/models/vae';
import { SD15_VAE_TILING, type VaeTiling } from '@kirie/core/pipeline/vae-tiling';
import { assetPath } from '../models/assets.js';

const F32 = 4;
/** Latent pixels per side: SD's VAE downsamples by 8. */
const VAE_FACTOR = 8;

export interface JobShape {
  width: number;
  height: number;
  batchSize: number;
  /** Classifier-free guidance doubles the UNet batch (guidance > 1). */
  cfg: boolean;
  controlUnits: number;
  /** An init image is VAE-encoded (img2img and inpaint). */
  encodes: boolean;
  /** Bytes of the checkpoint and ControlNets on disk: float32 sessions hold about as much (bridge/src/worker/models.ts). */
  weightsBytes: number;
  /** Pixels of the whole canvas an `inpaint` request composites back onto (0 otherwise). */
  canvasPixels: number;
  /** acceleration.deepCache's branch: its shallow UNet's weights are resident beside the full one. */
  deepCacheBranch?: number;
  /** The checkpoint's family (default SD 1.x): its UNet's widths, depths and attention levels. */
  family?: FamilyId;
  /** How the UNet attends: 'fused' (default: the graphs Kirie builds) or 'unfused' (an ONNX folder's, counted head by head). */
  attention?: 'fused' | 'unfused';
}

export interface MemoryEstimate {
  /** Bytes at the job's peak: weights plus the largest phase. */
  peakBytes: number;
  weightsBytes: number;
  /** UNet (+ ControlNet) steps: attention scores, feature maps, control images. */
  denoiseBytes: number;
  /** VAE encode / decode (tiled or at full size), decoded images, PNG encode. */
  vaeBytes: number;
  /** The VAE pass is counted tiled (vaeTilingFor). */
  vaeTiled: boolean;
}

const unet = SD15_ARCH.unet;
const vae = SD15_ARCH.vae;

/**
 * Floats alive per latent pixel per batch item while the UNet runs, besides attention scores: the skip
 * connections kept for the up path (each level's resnet outputs plus its downsample, at 1/4 the pixels
 * per level) and the first attention level's GEGLU feed-forward (proj to 2 × 4C, its halves, GELU,
 * product: ~20C, at that level's pixels).
 */
function skipFloats(u: SdArchitecture['unet']): number {
  return u.channelMult.reduce((sum, mult, level) => sum + (u.modelChannels * mult * (u.numResBlocks + 1)) / 4 ** level, 0);
}

/**
 * What the UNet's largest self-attention looks like per family: at the first level with attention (SD1.x
 * level 0 at the latent size; SDXL level 1, a quarter of the pixels), with that level's heads.
 */
interface UnetFigures {
  /** Latent pixels per attention token at the first attention level. */
  pixelsPerToken: number;
  heads: number;
  /** Per latent pixel (not token): skips, feed-forward, DeepCache features. */
  floats: number;
  skipFloats: number;
}

function unetFigures(arch: SdArchitecture): UnetFigures {
  const u = arch.unet;
  const level = u.channelMult.findIndex((_, l) => u.attentionResolutions.includes(2 ** l));
  const width = u.modelChannels * u.channelMult[level]!;
  const skips = skipFloats(u);
  return { pixelsPerToken: 4 ** level, heads: headsFor(u, width), floats: skips + (20 * width) / 4 ** level + featureFloats(u), skipFloats: skips };
}

/**
 * The hidden state entering every output block, per latent pixel: the UNet graph also outputs each as a
 * DeepCache feature (core/src/models/unet.ts), and ONNX Runtime keeps graph outputs to the end of a call.
 */
function featureFloats(u: SdArchitecture['unet']): number {
  let ch = u.modelChannels * u.channelMult[u.channelMult.length - 1]!;
  let floats = 0;
  for (let level = u.channelMult.length - 1; level >= 0; level--) {
    for (let r = 0; r <= u.numResBlocks; r++) {
      floats += ch / 4 ** level;
      ch = u.modelChannels * u.channelMult[level]!;
    }
  }
  return floats;
}
const UNET: Record<FamilyId, UnetFigures> = { sd1: unetFigures(SD15_ARCH), sdxl: unetFigures(SDXL_ARCH) };

/** Float32 bytes of DeepCache's shallow UNet for a branch: time embedding, input blocks 0…b, output blocks 11−b…11, out. */
function shallowUnetBytes(branch: number): number {
  const keys = sd15Keys();
  const last = keys.blocks - 1;
  const counted = (name: string): boolean => {
    const m = /^model\.diffusion_model\.(?:(input|output)_blocks\.(\d+)\.|(time_embed|out)\.)/.exec(name);
    if (!m) return false;
    if (m[3]) return true;
    const i = Number(m[2]);
    return m[1] === 'input' ? i <= branch : i >= last - branch;
  };
  return keys.list.reduce((sum, [name, shape]) => (counted(name) ? sum + shape.reduce((a, b) => a * b, 1) * F32 : sum), 0);
}

let keysCache: { list: [string, number[]][]; blocks: number } | undefined;
/** SD1.5's tensor names and shapes (bridge/assets/sd15-keys.json, what `kirie models random` writes). */
function sd15Keys(): { list: [string, number[]][]; blocks: number } {
  if (!keysCache) {
    const list = (JSON.parse(readFileSync(assetPath('sd15-keys.json'), 'utf8')) as { sd15: [string, number[], string][] }).sd15.map(([n, s]) => [n, s] as [string, number[]]);
    keysCache = { list, blocks: 1 + unet.channelMult.length * unet.numResBlocks + (unet.channelMult.length - 1) };
  }
  return keysCache;
}
// The VAE: SDXL's has SD1.5's widths (it runs in float32 in both families, as the CPU sessions do).
/** Full-size floats per pixel in the decoder's last up block: the upsampled input and ~4 maps at its own width. */
const DECODE_FLOATS = vae.ch * vae.chMult[1]! + 4 * vae.ch * vae.chMult[0]!;
/** The encoder's first block at full size: ~4 maps of ch channels. */
const ENCODE_FLOATS = 4 * vae.ch * vae.chMult[0]!;
/** Per output pixel once decoded: the batch's float decode (3 floats), RGB bytes + their float copy, and the PNGs. */
const RESULT_BYTES = 3 * F32 + 3 + 3 * F32 + 3;

/** Score bytes alive in one self-attention: the scores and their softmax. Chunks 0 = every head at once; c ≥ 1 = one head, N/c query rows. */
function selfAttentionBytes(batch: number, tokens: number, chunks: number, heads: number): number {
  const rows = chunks === 0 ? heads * tokens : tokens / chunks;
  return 2 * batch * rows * tokens * F32;
}

/** The share of the budget an untiled VAE pass may take before the pipeline tiles it. */
const VAE_UNTILED_SHARE = 0.5;

/** One untiled VAE pass (decode, or encode when the job has an init image) over `pixels`, attention included. */
function vaePassBytes(pixels: number, encodes: boolean): number {
  const attention = selfAttentionBytes(1, pixels / VAE_FACTOR ** 2, VAE_ATTENTION_CHUNKS, 1);
  return Math.max(DECODE_FLOATS * pixels * F32, encodes ? ENCODE_FLOATS * pixels * F32 : 0) + attention;
}

/**
 * The VAE tiling a job of this size runs with under `budgetBytes` (the same rule at submit and in the
 * generation process): tiles once the untiled pass would take more than half the budget; none below.
 */
export function vaeTilingFor(width: number, height: number, encodes: boolean, budgetBytes: number): VaeTiling | undefined {
  const t = SD15_VAE_TILING;
  // diffusers' own trigger too: an image within one tile runs untiled whatever the budget.
  const tiles = width > t.sampleSize || height > t.sampleSize;
  return tiles && vaePassBytes(width * height, encodes) > VAE_UNTILED_SHARE * budgetBytes ? t : undefined;
}

/** A tiled pass: one tile's pass, the full-size input or output twice (stitched and kept parts) and two rows of decoded tiles. */
function tiledVaeBytes(width: number, height: number, tiling: VaeTiling): number {
  const tile = tiling.sampleSize;
  const columns = Math.ceil(width / (tile * (1 - tiling.overlap)));
  return vaePassBytes(tile * tile, true) + 2 * 3 * width * height * F32 + 2 * columns * 3 * tile * tile * F32;
}

/** With `budgetBytes`, the VAE pass is counted tiled where vaeTilingFor tiles it; without, always untiled. */
export function estimateJobMemory(job: JobShape, budgetBytes?: number): MemoryEstimate {
  const pixels = job.width * job.height;
  const tokens = pixels / VAE_FACTOR ** 2;
  const unetBatch = job.batchSize * (job.cfg ? 2 : 1);
  const u = UNET[job.family ?? 'sd1'];
  const scores = job.attention === 'unfused' ? selfAttentionBytes(unetBatch, tokens / u.pixelsPerToken, DEFAULT_ATTENTION_CHUNKS, u.heads) : 0;
  const features = unetBatch * tokens * (u.floats + job.controlUnits * u.skipFloats) * F32;
  const controlImages = job.controlUnits * unetBatch * 3 * pixels * F32;
  // Latents, noise, the UNet's output and the guided prediction: a few 4-channel latent tensors.
  const latents = 4 * unetBatch * tokens * vae.zChannels * F32;
  const denoiseBytes = scores + features + controlImages + latents;

  const tiling = budgetBytes === undefined ? undefined : vaeTilingFor(job.width, job.height, job.encodes, budgetBytes);
  const pass = tiling ? tiledVaeBytes(job.width, job.height, tiling) : vaePassBytes(pixels, job.encodes);
  const results = job.batchSize * pixels * RESULT_BYTES;
  // The whole canvas (RGBA), its selection, the composite and the patch, per batch image at the end.
  const canvas = job.canvasPixels * (4 + 1 + 4 * (1 + job.batchSize));
  const vaeBytes = pass + results + canvas;

  const weightsBytes = job.weightsBytes + (job.deepCacheBranch === undefined ? 0 : shallowUnetBytes(job.deepCacheBranch));
  return { peakBytes: weightsBytes + Math.max(denoiseBytes, vaeBytes), weightsBytes, denoiseBytes, vaeBytes, vaeTiled: tiling !== undefined };
}

export interface Fitting {
  /** The largest width × height of the request's aspect ratio (multiples of 8) that fits at its batch; null if none. */
  size: { width: number; height: number } | null;
  /** The largest batch that fits at the request's size (0 if none). */
  batchSize: number;
}

/** What would fit `budgetBytes`: the request's shape scaled down, and its batch reduced. */
export function largestFitting(job: JobShape, budgetBytes: number): Fitting {
  const fits = (shape: JobShape) => estimateJobMemory(shape, budgetBytes).peakBytes <= budgetBytes;
  let batchSize = 0;
  while (batchSize < job.batchSize && fits({ ...job, batchSize: batchSize + 1 })) batchSize++;
  // Scale both sides by one factor, in steps of 8 px on the longer side.
  const longer = Math.max(job.width, job.height);
  const sized = (side: number) => {
    const scale = side / longer;
    return { width: Math.max(8, Math.floor((job.width * scale) / 8) * 8), height: Math.max(8, Math.floor((job.height * scale) / 8) * 8) };
  };
  let lo = 0;
  let hi = Math.floor(longer / 8);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits({ ...job, ...sized(mid * 8) })) lo = mid;
    else hi = mid - 1;
  }
  return { size: lo === 0 ? null : sized(lo * 8), batchSize };
}
