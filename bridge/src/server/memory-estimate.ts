// Peak memory of one job, estimated at submit from what the request fixes (size, batch, guidance,
// ControlNets, img2img) and the weights it loads, so the bridge refuses what the machine cannot hold
// instead of swapping for minutes and then failing. Float32 throughout, as the sessions run.
//
// Where the numbers come from:
// - UNet self-attention is computed head by head (core/src/models/build.ts DEFAULT_ATTENTION_CHUNKS = 1):
//   one [unetBatch, N, N] score matrix and its softmax are alive at once, N = latent pixels. At 512² with
//   CFG that is 2 × 128 MB, as build.ts's comment measures.
// - The VAE decoder runs one image at a time at full size; its mid-block attention (single head, latent
//   size) is NOT sliced: [1, N, N] scores + softmax. Its last up block works at ch·chMult[0] channels on
//   full-size maps fed by a ch·chMult[1]-channel upsample.
// - Calibration (measured): the previous session saw 512² SD1.5 txt2img (batch 1, CFG) peak at 5.12 GB with
//   the models resident; taking those as the fp32 v1-5 weights (4.27 GB on disk), this estimate gives
//   5.21 GB there (+2 %). The 4096² × 8 reached 5.5 GB before the first step (latents, embeddings,
//   control images); its first UNet call would need 2·16·262144²·4 B ≈ 8.8 TB of attention scores.
import { headsFor, SD15_ARCH } from '@kirie/core/models/arch';
import { DEFAULT_ATTENTION_CHUNKS } from '@kirie/core/models/build';

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
}

export interface MemoryEstimate {
  /** Bytes at the job's peak: weights plus the largest phase. */
  peakBytes: number;
  weightsBytes: number;
  /** UNet (+ ControlNet) steps: attention scores, feature maps, control images. */
  denoiseBytes: number;
  /** VAE encode / decode at full size, decoded images, PNG encode. */
  vaeBytes: number;
}

const unet = SD15_ARCH.unet;
const vae = SD15_ARCH.vae;

/**
 * Floats alive per latent pixel per batch item while the UNet runs, besides attention scores: the skip
 * connections kept for the up path (each level's resnet outputs plus its downsample, at 1/4 the pixels
 * per level) and the top level's GEGLU feed-forward (proj to 2 × 4C, its halves, GELU, product: ~20C).
 */
const SKIP_FLOATS = unet.channelMult.reduce((sum, mult, level) => sum + (unet.modelChannels * mult * (unet.numResBlocks + 1)) / 4 ** level, 0);
const UNET_FLOATS = SKIP_FLOATS + 20 * unet.modelChannels;
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

export function estimateJobMemory(job: JobShape): MemoryEstimate {
  const pixels = job.width * job.height;
  const tokens = pixels / VAE_FACTOR ** 2;
  const unetBatch = job.batchSize * (job.cfg ? 2 : 1);
  const scores = selfAttentionBytes(unetBatch, tokens, DEFAULT_ATTENTION_CHUNKS, headsFor(unet, unet.modelChannels));
  const features = unetBatch * tokens * (UNET_FLOATS + job.controlUnits * SKIP_FLOATS) * F32;
  const controlImages = job.controlUnits * unetBatch * 3 * pixels * F32;
  // Latents, noise, the UNet's output and the guided prediction: a few 4-channel latent tensors.
  const latents = 4 * unetBatch * tokens * vae.zChannels * F32;
  const denoiseBytes = scores + features + controlImages + latents;

  const vaeAttention = selfAttentionBytes(1, tokens, 1, 1);
  const decode = DECODE_FLOATS * pixels * F32 + vaeAttention;
  const encode = job.encodes ? ENCODE_FLOATS * pixels * F32 + vaeAttention : 0;
  const results = job.batchSize * pixels * RESULT_BYTES;
  // The whole canvas (RGBA), its selection, the composite and the patch, per batch image at the end.
  const canvas = job.canvasPixels * (4 + 1 + 4 * (1 + job.batchSize));
  const vaeBytes = Math.max(decode, encode) + results + canvas;

  return { peakBytes: job.weightsBytes + Math.max(denoiseBytes, vaeBytes), weightsBytes: job.weightsBytes, denoiseBytes, vaeBytes };
}

export interface Fitting {
  /** The largest width × height of the request's aspect ratio (multiples of 8) that fits at its batch; null if none. */
  size: { width: number; height: number } | null;
  /** The largest batch that fits at the request's size (0 if none). */
  batchSize: number;
}

/** What would fit `budgetBytes`: the request's shape scaled down, and its batch reduced. */
export function largestFitting(job: JobShape, budgetBytes: number): Fitting {
  const fits = (shape: JobShape) => estimateJobMemory(shape).peakBytes <= budgetBytes;
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
