// Text → latents → image: Stable Diffusion's sampling loop with classifier-free guidance, img2img,
// inpainting (4-channel UNet with latent blending, or 9-channel inpainting UNet) and ControlNet, with
// diffusers 0.24's semantics step for step. Runtime, models, scheduler and noise are all injected.
import type { RasterImage } from '../image/png.js';
import { latentMask, stepMask } from '../image/softmask.js';
import type { ControlNetModel, SdModel } from '../models/sessions.js';
import type { MaskMode } from '../request/schema.js';
import type { NoiseSource } from '../rng/noise.js';
import type { OrtModule, OrtSession } from '../runtime/ort.js';
import type { Scheduler } from '../schedulers/types.js';
import type { AdapterFeeds } from '../adapters/slots.js';
import { controlImageTensor, decodedToImages, greyMask, initImageTensor, maskedImage, prepareMask } from './images.js';
import { controlResiduals, decodeLatents, encodeImageMean, predictNoise, predictNoiseCaching, predictNoiseShallow, zeroResiduals, type FloatTensor, type Residuals } from './models.js';
import { deepCacheFullCalls, type DeepCacheOptions } from './deepcache.js';
import { latentPreview } from './preview.js';
import { stepConditioning, familyOf, type PromptTokenizer, type SizeConditioning } from './conditioning.js';
import type { VaeTiling } from './vae-tiling.js';
import type { PromptStyle } from '../prompt/stage.js';
import { img2imgTimesteps } from '../schedulers/img2img.js';
import { controlActive } from './schedule.js';
import { addInPlace, blendInPlace, concatChannels, guide, repeatBatch, scaleInPlace } from './tensor.js';

export type { PromptTokenizer } from './conditioning.js';

export interface ControlInput {
  net: ControlNetModel;
  /** The control map (already preprocessed: pose render, edges, …) at the generation size. */
  image: RasterImage;
  scale: number;
  /** Fractions of the run during which this unit acts. */
  start: number;
  end: number;
}

export interface PipelineInput {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  /** A fresh scheduler; the pipeline calls setTimesteps. */
  scheduler: Scheduler;
  /** CFG scale; ≤ 1 runs one unguided batch. */
  guidance: number;
  batchSize: number;
  /** Used with initImage: fraction of the schedule that is run. */
  strength: number;
  initImage?: RasterImage;
  /** White = repaint; needs initImage. */
  mask?: RasterImage;
  /** How a 4-channel loop reads the mask's grey levels (GenerateRequest.maskMode); default 'binary'. */
  maskMode?: MaskMode;
  control: ControlInput[];
  /** Every random draw (initial latents, img2img noise, scheduler step noise), in diffusers' order. */
  noise: NoiseSource;
  /** LoRAs and embeddings as the graphs' adapter inputs (core/src/adapters/slots.ts); none when absent. */
  adapters?: AdapterFeeds;
  /** Replaces the model's tokenizer (one that knows the request's embeddings). */
  tokenizer?: PromptTokenizer;
  /** Replaces the model's second tokenizer (SDXL; one that knows the request's embeddings). */
  tokenizer2?: PromptTokenizer;
  /** SDXL: the second text encoder's prompts (default: prompt, negativePrompt) and the micro-conditioning. */
  prompt2?: string;
  negativePrompt2?: string;
  sizeConditioning?: SizeConditioning;
  /** A1111 or ComfyUI prompt syntax (core/src/prompt/stage.ts); absent: diffusers' plain 77-token prompts. */
  promptStyle?: PromptStyle;
  /** DeepCache: shallow UNet calls between full ones (core/src/pipeline/deepcache.ts); absent: every call full. */
  deepCache?: DeepCacheOptions;
}

export interface StepProgress {
  step: number;
  total: number;
  /** Latent-resolution RGB preview of image 0 (when asked for). */
  preview?: RasterImage;
}

/** What one step computed, for reference checks and debugging. */
export interface StepTrace {
  index: number;
  timestep: number;
  unetInput: Float32Array;
  unetOutput: Float32Array;
  noisePred: Float32Array;
  latents: Float32Array;
  /** DeepCache runs: whether this call was full, and on full calls the feature it cached. */
  deepCache?: { full: boolean; feature?: Float32Array };
}

export interface PipelineOptions {
  ort: OrtModule;
  model: SdModel<PromptTokenizer>;
  signal?: AbortSignal;
  onProgress?(progress: StepProgress): void;
  /** Preview every n-th step (0: never). Default 1. */
  previewEvery?: number;
  onStep?(trace: StepTrace): void;
  /**
   * Tile the VAE encode and decode as diffusers' enable_tiling() does (a tile's activations instead of the
   * whole canvas's); the host turns it on for sizes its memory budget cannot hold untiled. Absent: plain.
   */
  vaeTiling?: VaeTiling;
}

export interface PipelineResult {
  images: RasterImage[];
  /** Final latents [B,4,h,w] (diffusers output_type 'latent'). */
  latents: Float32Array;
  /** Decoder output [B,3,H,W]. */
  decoded: Float32Array;
  /** Each image as HWC float32 in [0,1] (diffusers output_type 'np'). */
  pixels: Float32Array[];
}

export async function generate(input: PipelineInput, opts: PipelineOptions): Promise<PipelineResult> {
  const { ort, model, signal } = opts;
  const { width, height, batchSize: batch, scheduler } = input;
  const unetChannels = model.io.unetInChannels;
  const inpainting = input.mask !== undefined;
  if (input.mask && !input.initImage) throw new Error('a mask needs an init image');
  if (unetChannels === 9 && !inpainting) throw new Error(`${model.name} is an inpainting model (9-channel UNet): it needs an init image and a mask`);
  if (width % 8 !== 0 || height % 8 !== 0) throw new Error(`width and height must be multiples of 8, got ${width}x${height}`);
  const cfg = input.guidance > 1;
  const h = height / 8;
  const w = width / 8;
  const latentDims = [batch, 4, h, w];
  const plane = h * w;
  signal?.throwIfAborted();

  // 1. Text conditioning (and SDXL's pooled embeddings and time ids), as the model's family does it.
  if (input.control.length > 0 && familyOf(model).prefixes.controlnet === undefined) {
    throw new Error(`${model.name} is an ${familyOf(model).label} model: ControlNets for it are not supported yet`);
  }
  const contextAt = await stepConditioning(ort, model, input, cfg);

  // 2. Schedule: all of it, or its tail for img2img/inpaint (strength).
  let timesteps: number[];
  if (input.initImage) timesteps = img2imgTimesteps(scheduler, input.steps, input.strength).timesteps;
  else {
    scheduler.setTimesteps(input.steps);
    timesteps = [...scheduler.timesteps];
  }

  // 3. Starting latents.
  const image = input.initImage ? initImageTensor(input.initImage, width, height) : null;
  const mask = input.mask ? prepareMask(input.mask, width, height) : null;
  const strengthMax = input.strength >= 1;
  let imageLatents: Float32Array | null = null;
  if (image && (!inpainting || unetChannels === 4 || !strengthMax)) {
    const mean = await encodeImageMean(ort, model, { data: image, dims: [1, 3, height, width] }, opts.vaeTiling, signal);
    imageLatents = repeatBatch(scaleInPlace(mean, Math.fround(model.vaeScalingFactor)), batch);
  }
  let latents: Float32Array;
  let noise: Float32Array | null = null;
  if (!image) {
    // A copy: a noise source may hand out an array it keeps (recorded noise).
    latents = scaleInPlace(Float32Array.from(input.noise.randn(latentDims)), scheduler.initNoiseSigma);
  } else {
    noise = input.noise.randn(latentDims);
    latents = inpainting && strengthMax ? scaleInPlace(Float32Array.from(noise), scheduler.initNoiseSigma) : scheduler.addNoise(imageLatents!, noise, timesteps[0]);
  }

  // 9-channel inpainting: the UNet also sees the mask and the latents of the image with the hole cut out.
  let extraChannels: { mask: Float32Array; masked: Float32Array } | null = null;
  if (mask && unetChannels === 9) {
    const masked = await encodeImageMean(ort, model, { data: maskedImage(image!, mask.pixels), dims: [1, 3, height, width] }, opts.vaeTiling, signal);
    const copies = cfg ? 2 * batch : batch;
    extraChannels = { mask: repeatBatch(mask.latent, copies), masked: repeatBatch(scaleInPlace(masked, Math.fround(model.vaeScalingFactor)), copies) };
  }

  const hints = input.control.map((c) => {
    const one = controlImageTensor(c.image, width, height);
    return { data: repeatBatch(one, cfg ? 2 * batch : batch), dims: [cfg ? 2 * batch : batch, 3, height, width] };
  });

  // Soft denoising: the mask's grey levels at latent size, thresholded afresh at each step (softmask.ts).
  const soft = mask && unetChannels === 4 && input.maskMode === 'soft' ? latentMask(greyMask(input.mask!, width, height), 8).data : null;
  const stepBlend = soft ? new Float32Array(soft.length) : null;

  // 4. Denoising loop.
  const unetBatch = cfg ? 2 * batch : batch;
  const n = timesteps.length;
  const previewEvery = opts.onProgress ? (opts.previewEvery ?? 1) : 0;
  // Allocated once: a UNet graph with residual inputs gets these on every step no unit acts on.
  const noControl = model.io.unetTakesResiduals ? zeroResiduals(model, [unetBatch, 4, h, w]) : null;
  const deepCache = input.deepCache ? await openDeepCache(model, input, timesteps) : null;
  for (let i = 0; i < n; i++) {
    signal?.throwIfAborted();
    const t = timesteps[i];
    const context = contextAt(i);
    const scaled = scheduler.scaleModelInput(repeatBatch(latents, cfg ? 2 : 1), t);
    const scaledTensor = { data: scaled, dims: [unetBatch, 4, h, w] };

    let residuals: Residuals | null = null;
    for (let k = 0; k < input.control.length; k++) {
      const unit = input.control[k];
      if (!controlActive(i, n, unit.start, unit.end)) continue;
      const r = await controlResiduals(ort, unit.net, scaledTensor, t, context, hints[k], unit.scale);
      residuals = residuals ? sumResiduals(residuals, r) : r;
    }

    const unetInput = extraChannels
      ? concatChannels([{ data: scaled, channels: 4 }, { data: extraChannels.mask, channels: 1 }, { data: extraChannels.masked, channels: 4 }], unetBatch, plane)
      : scaled;
    const unetIn = { data: unetInput, dims: [unetBatch, unetChannels, h, w] };
    let unetOutput: Float32Array;
    let cached: StepTrace['deepCache'];
    if (!deepCache) unetOutput = await predictNoise(ort, model, unetIn, t, context, residuals ?? noControl, input.adapters);
    else if (deepCache.full[i]) {
      const call = await predictNoiseCaching(ort, model, unetIn, t, context, residuals ?? noControl, deepCache.branch, input.adapters);
      unetOutput = call.noise;
      deepCache.feature = call.feature;
      cached = { full: true, feature: call.feature.data };
    } else {
      unetOutput = await predictNoiseShallow(ort, model, deepCache.shallow, unetIn, t, context, deepCache.feature!, input.adapters);
      cached = { full: false };
    }
    const noisePred = scheduler.denoiser
      ? scheduler.denoiser.combine(unetOutput, latents, cfg ? input.guidance : null)
      : cfg
        ? guide(unetOutput, input.guidance)
        : unetOutput;
    latents = scheduler.step(noisePred, t, latents, input.noise, latentDims).prevSample;

    // 4-channel inpainting: outside the mask, put back the original re-noised to the next timestep.
    if (mask && unetChannels === 4) {
      const keep = i < n - 1 ? scheduler.addNoise(imageLatents!, noise!, timesteps[i + 1]) : imageLatents!;
      blendInPlace(latents, keep, soft ? stepMask(soft, i, n, stepBlend!) : mask.latent);
    }

    opts.onStep?.({ index: i, timestep: t, unetInput, unetOutput, noisePred, latents, ...(cached ? { deepCache: cached } : {}) });
    const preview = previewEvery > 0 && ((i + 1) % previewEvery === 0 || i === n - 1) ? latentPreview(latents, w, h) : undefined;
    opts.onProgress?.({ step: i + 1, total: n, ...(preview ? { preview } : {}) });
  }

  // 5. Decode one image at a time: the VAE decoder's activations dominate peak memory at full size.
  signal?.throwIfAborted();
  const decoded = new Float32Array(batch * 3 * width * height);
  const factor = Math.fround(model.vaeScalingFactor);
  const unscaled = Float32Array.from(latents, (v) => v / factor);
  for (let b = 0; b < batch; b++) {
    const one = unscaled.subarray(b * 4 * plane, (b + 1) * 4 * plane);
    decoded.set(await decodeLatents(ort, model, { data: one, dims: [1, 4, h, w] }, opts.vaeTiling, signal), b * 3 * width * height);
    signal?.throwIfAborted();
  }
  const { images, float } = decodedToImages(decoded, batch, width, height);
  return { images, latents, decoded, pixels: float };
}

/** The shallow UNet and which calls are full; the feature is filled in by each full call. */
async function openDeepCache(model: SdModel, input: PipelineInput, timesteps: readonly number[]): Promise<{ branch: number; full: boolean[]; shallow: OrtSession; feature?: FloatTensor }> {
  const options = input.deepCache!;
  // The reference wraps the UNet alone; a ControlNet's residuals would also change what a full call caches.
  if (input.control.length > 0) throw new Error('DeepCache cannot be combined with ControlNet units yet');
  if (!model.deepCacheUnet) throw new Error(`${model.name} cannot use DeepCache: only checkpoints Kirie builds itself (.safetensors) have its shallow UNet`);
  return { branch: options.branch, full: deepCacheFullCalls(timesteps, options), shallow: await model.deepCacheUnet(options.branch) };
}

function sumResiduals(acc: Residuals, r: Residuals): Residuals {
  acc.down.forEach((d, i) => addInPlace(d.data, r.down[i].data));
  addInPlace(acc.mid.data, r.mid.data);
  return acc;
}
