// Verify kind for whole-pipeline cases (tests/golden/pipelines/<case>/case.json and any tree in that
// format): the case's parameters become a GenerateRequest, its images are served by id, its recorded
// noise is replayed, and the real pipeline runs on the tiny checkpoints named by the case. Nothing is
// taken from the reference's intermediate arrays except to compare against.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { RasterImage } from '@kirie/core/image/png';
import type { ControlNetModel } from '@kirie/core/models/sessions';
import { generateFromRequest, type AdapterLibrary, type RequestDeps } from '@kirie/core/pipeline/request';
import type { PipelineResult } from '@kirie/core/pipeline/generate';
import type { VaeTiling } from '@kirie/core/pipeline/vae-tiling';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import type { GenerateRequestInput } from '@kirie/core/request/schema';
import { QueuedNoise } from '@kirie/core/rng/noise';
import { loadEmbedding, loadLora } from '../../models/adapter-files.js';
import { openControlNet, openModel, type LoadedModel } from '../../models/load.js';
import { loadFamilyTokenizers } from '../../models/tokenizer-files.js';
import { familyOf } from '@kirie/core/pipeline/conditioning';
import { allClose } from '../compare.js';
import { withTextEncoderOverride } from '../text-encoder-override.js';
import { readJson, readNpy, readPng } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';
import { preferredProvider, type Provider } from '../../runtime/session.js';
import { roundUpOneDigit, webgpuPipelineTolerances } from '../webgpu-tolerances.js';

const KIND = 'pipelines';

interface PipelineCase {
  id: string;
  pipeline: string;
  /** `text_encoder_override`: tensors of `file` (golden-relative) replace the checkpoint's in the text encoder. */
  models: { checkpoint: string; controlnet: string | null; tokenizer: string; text_encoder_override?: { file: string } | null };
  parameters: {
    prompt: string;
    negative_prompt: string | null;
    height: number;
    width: number;
    num_inference_steps: number;
    guidance_scale: number;
    strength: number | null;
    controlnet_conditioning_scale: number | null;
    num_images_per_prompt: number;
    clip_skip: number | null;
    control_guidance_start: number | null;
    control_guidance_end: number | null;
    /** LoRA cases: the files and multipliers, and the same as A1111 prompt tags. */
    loras?: { file: string; unet_scale: number; te_scale: number }[];
    a1111_lora_syntax?: string;
    embeddings?: { file: string; token: string }[];
    /** SDXL cases: the second prompts, the micro-conditioning ((height, width) and (top, left) pairs), the strength run when the case left it at the default. */
    prompt_2?: string | null;
    negative_prompt_2?: string | null;
    original_size?: [number, number] | null;
    crops_coords_top_left?: [number, number] | null;
    target_size?: [number, number] | null;
    negative_original_size?: [number, number] | null;
    negative_crops_coords_top_left?: [number, number] | null;
    negative_target_size?: [number, number] | null;
    strength_effective?: number | null;
    /** diffusers' enable_vae_tiling(), with the tile attributes in `tiling`. */
    vae_tiling?: boolean;
  };
  tiling?: { tile_sample_min_size: number; tile_latent_min_size: number; tile_overlap_factor: number };
  scheduler: { variant: string; effective_config: Record<string, unknown> };
  /** tests/golden/deepcache cases: the reference's parameters and the full/shallow schedule it ran. */
  deepcache?: {
    params: { cache_interval: number; cache_branch_id?: number; uniform?: boolean; equivalent_helper_cache_branch_id?: number; center?: number; pow?: number };
    schedule: { full_steps: number[] };
  };
  /** tests/golden/prompts pipelines: the prompts are read as A1111 does, the negative padded ('pad_conds') or not. */
  a1111_conditioning?: { padding: 'pad_conds' | 'none' };
  files: Record<string, string>;
  float32_vs_float64?: { final_latents_max_abs_diff?: number; image_max_abs_diff?: number };
}

interface Tolerances {
  final_latents_atol: number;
  steps_latents_atol: number;
  image_atol: number;
  /** PNG levels where the table gives them (tests/golden/deepcache). */
  image_png_levels?: number;
}

// Loaded once per process: cases share the tiny checkpoints.
const modelCache = new Map<string, Promise<LoadedModel>>();
const controlNets = new Map<string, Promise<ControlNetModel>>();

function once<T>(cache: Map<string, Promise<T>>, key: string, open: () => Promise<T>): Promise<T> {
  if (!cache.has(key)) cache.set(key, open());
  return cache.get(key)!;
}

/** Releases the models the kind loaded (tests call this when done). */
export async function releasePipelineModels(): Promise<void> {
  const all = [...modelCache.values(), ...controlNets.values()];
  modelCache.clear();
  controlNets.clear();
  for (const m of all) await (await m).release();
}

/** The README's rule, from the case's own float32-vs-float64 measurement: max(1e-3, 10·measured), rounded up to one digit. */
function ruleTolerance(measured: number | undefined): number {
  if (measured === undefined) throw new Error('the case has no tolerance entry and no float32_vs_float64 measurement');
  return roundUpOneDigit(Math.max(1e-3, 10 * measured));
}

function tolerancesFor(file: CaseFile, c: PipelineCase): Tolerances {
  const table = join(dirname(file.dir), 'tolerances.json');
  const entry = existsSync(table) ? readJson<{ cases: Record<string, Tolerances> }>(table).cases[c.id] : undefined;
  if (entry) return entry;
  const latents = ruleTolerance(c.float32_vs_float64?.final_latents_max_abs_diff);
  return { final_latents_atol: latents, steps_latents_atol: latents, image_atol: ruleTolerance(c.float32_vs_float64?.image_max_abs_diff) };
}

/**
 * The effective scheduler config as a request carries it. JSON has no infinities, so non-finite values
 * stay out: diffusers' only one, lambda_min_clipped = -inf, is the class default anyway.
 */
function scalarConfig(config: Record<string, unknown>): Record<string, number | string | boolean | null> {
  const out: Record<string, number | string | boolean | null> = {};
  for (const [k, v] of Object.entries(config)) {
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out[k] = v;
    else throw new Error(`scheduler config "${k}" is not a scalar`);
  }
  return out;
}

/** The helper's (interval, branch); the experimental pipeline's cases name the equivalent helper branch. */
function caseDeepCache(d: NonNullable<PipelineCase['deepcache']>): { interval: number; branch: number; nonUniform?: { center: number; pow: number } } {
  const { params } = d;
  const branch = params.cache_branch_id ?? params.equivalent_helper_cache_branch_id;
  if (branch === undefined) throw new Error('the DeepCache case names no cache branch');
  if (params.uniform !== false) return { interval: params.cache_interval, branch };
  if (params.center === undefined || params.pow === undefined) throw new Error('the non-uniform DeepCache case names no center and pow');
  return { interval: params.cache_interval, branch, nonUniform: { center: params.center, pow: params.pow } };
}

/** The GenerateRequest a case describes, with the ids its images are served under. */
export function caseRequest(c: PipelineCase): { request: GenerateRequestInput; imageFiles: Record<string, string> } {
  const p = c.parameters;
  const imageFiles: Record<string, string> = {};
  if (c.files.init_image_png) imageFiles.init = c.files.init_image_png;
  if (c.files.mask_png) imageFiles.mask = c.files.mask_png;
  if (c.files.control_png) imageFiles.control = c.files.control_png;
  const request: GenerateRequestInput = {
    model: c.models.checkpoint,
    // LoRAs travel as the A1111 tags the case gives for them (the tags are removed before tokenising).
    prompt: p.a1111_lora_syntax ? `${p.prompt} ${p.a1111_lora_syntax}` : p.prompt,
    negativePrompt: p.negative_prompt ?? '',
    width: p.width,
    height: p.height,
    steps: p.num_inference_steps,
    scheduler: c.scheduler.variant,
    schedulerConfig: scalarConfig(c.scheduler.effective_config),
    guidance: p.guidance_scale,
    seed: 0,
    batchSize: p.num_images_per_prompt,
    // diffusers' clip_skip = k is A1111's "Clip skip" k + 1.
    clipSkip: (p.clip_skip ?? 0) + 1,
    ...((p.strength ?? p.strength_effective) != null ? { strength: (p.strength ?? p.strength_effective)! } : {}),
    ...sdxlParameters(p),
    ...(imageFiles.init ? { initImage: 'init' } : {}),
    ...(imageFiles.mask ? { mask: 'mask' } : {}),
    control: c.models.controlnet
      ? [{ model: c.models.controlnet, image: 'control', scale: p.controlnet_conditioning_scale ?? 1, start: p.control_guidance_start ?? 0, end: p.control_guidance_end ?? 1 }]
      : [],
    ...(c.deepcache ? { acceleration: { deepCache: caseDeepCache(c.deepcache) } } : {}),
    ...(c.a1111_conditioning ? { promptSyntax: 'a1111' as const, ...(c.a1111_conditioning.padding === 'pad_conds' ? { padConds: true } : {}) } : {}),
  };
  return { request, imageFiles };
}

/** SDXL's second prompts and micro-conditioning, as a request carries them. */
function sdxlParameters(p: PipelineCase['parameters']): Partial<GenerateRequestInput> {
  const size = (hw: [number, number] | null | undefined) => (hw ? { height: hw[0], width: hw[1] } : undefined);
  const crop = (tl: [number, number] | null | undefined) => (tl ? { top: tl[0], left: tl[1] } : undefined);
  const sizes = Object.entries({
    originalSize: size(p.original_size),
    cropTopLeft: crop(p.crops_coords_top_left),
    targetSize: size(p.target_size),
    negativeOriginalSize: size(p.negative_original_size),
    negativeCropTopLeft: crop(p.negative_crops_coords_top_left),
    negativeTargetSize: size(p.negative_target_size),
  }).filter(([, v]) => v !== undefined);
  return {
    ...(p.prompt_2 != null ? { prompt2: p.prompt_2 } : {}),
    ...(p.negative_prompt_2 != null ? { negativePrompt2: p.negative_prompt_2 } : {}),
    ...(sizes.length > 0 ? { sizeConditioning: Object.fromEntries(sizes) } : {}),
  };
}

/** Every randn the reference drew, in order; txt2img's initial latents (passed as `latents=`) come first. */
export function recordedNoise(dir: string, c: PipelineCase): QueuedNoise {
  const tensors: Float32Array[] = [];
  if (c.files.latents_T) tensors.push(readNpy(join(dir, c.files.latents_T)).data as Float32Array);
  if (c.files.noise_queue) {
    const q = readNpy(join(dir, c.files.noise_queue));
    const per = q.shape.slice(1).reduce((a, b) => a * b, 1);
    for (let k = 0; k < q.shape[0]; k++) tensors.push((q.data as Float32Array).slice(k * per, (k + 1) * per));
  }
  return new QueuedNoise(tensors);
}

export interface PipelineRun {
  result: PipelineResult;
  stepLatents: Float32Array[];
  stepUnetOutputs: Float32Array[];
  /** DeepCache runs: the feature each full call cached, in order. */
  cachedFeatures: Float32Array[];
}

/** The case's adapter files as a library: LoRAs by file name without extension, embeddings by their token. */
function caseAdapters(assets: string, c: PipelineCase, model: LoadedModel): AdapterLibrary {
  const embeddings = c.parameters.embeddings ?? [];
  return {
    lora: (name) => loadLora(join(assets, `${name}.safetensors`), model.adapterTable!),
    embeddingNames: async () => embeddings.map((e) => e.token),
    embedding: async (token) => loadEmbedding(join(assets, embeddings.find((e) => e.token === token)!.file), model.io.adapters!.addedTokenWidth!, token),
  };
}

function caseTiling(c: PipelineCase): VaeTiling {
  if (!c.tiling) throw new Error('the case asks for VAE tiling but records no tile attributes');
  return { sampleSize: c.tiling.tile_sample_min_size, latentSize: c.tiling.tile_latent_min_size, overlap: c.tiling.tile_overlap_factor };
}

/** Runs a request on the tiny checkpoint a case names, its images served from the case folder by id. */
export async function runCaseRequest(
  file: CaseFile,
  models: { checkpoint: string; tokenizer: string; text_encoder_override?: { file: string } | null },
  request: GenerateRequestInput,
  imageFiles: Record<string, string>,
  /** Further pipeline dependencies (recorded noise, adapters, tiling), given the loaded model. */
  extra: (loaded: LoadedModel) => Partial<RequestDeps> = () => ({}),
  provider: Provider = 'cpu',
): Promise<PipelineRun> {
  if (!file.root) throw new Error('no tiny-sd15/ folder above the case: cannot find its checkpoints');
  const root = file.root;
  const checkpoint = join(root, 'tiny-sd15', models.checkpoint);
  const override = models.text_encoder_override;
  const loaded = await once(modelCache, `${provider}: ${override ? `${checkpoint} + ${override.file}` : checkpoint}`, async () => {
    const model = await openModel(checkpoint, { device: provider });
    return override ? withTextEncoderOverride(model, checkpoint, join(root, override.file)) : model;
  });
  // The case's tokenizer folder, once per text encoder with that encoder's pad token (SDXL tokenizer_2: '!').
  const [tokenizer, tokenizer2] = await loadFamilyTokenizers(join(root, models.tokenizer), familyOf(loaded));
  const stepLatents: Float32Array[] = [];
  const stepUnetOutputs: Float32Array[] = [];
  const cachedFeatures: Float32Array[] = [];
  const result = await generateFromRequest(parseGenerateRequest(request), {
    ort,
    model: { ...loaded, tokenizer, ...(tokenizer2 ? { tokenizer2 } : {}) },
    controlNet: (name) => once(controlNets, `${provider}: ${join(root, 'tiny-sd15', name)}`, () => openControlNet(join(root, 'tiny-sd15', name), { device: provider })),
    image: async (id): Promise<RasterImage> => {
      if (!imageFiles[id]) throw new Error(`case has no image ${id}`);
      return readPng(join(file.dir, imageFiles[id]));
    },
    previewEvery: 0,
    ...extra(loaded),
    onStep: (s) => {
      stepLatents.push(Float32Array.from(s.latents));
      stepUnetOutputs.push(Float32Array.from(s.unetOutput));
      if (s.deepCache?.feature) cachedFeatures.push(Float32Array.from(s.deepCache.feature));
    },
  });
  return { result, stepLatents, stepUnetOutputs, cachedFeatures };
}

/** Runs a case's pipeline for real, replaying its recorded noise. */
export async function runPipelineCase(file: CaseFile, provider: Provider = 'cpu'): Promise<PipelineRun> {
  const c = file.json as unknown as PipelineCase;
  const { request, imageFiles } = caseRequest(c);
  return runCaseRequest(file, c.models, request, imageFiles, (loaded) => ({
    noise: recordedNoise(file.dir, c),
    adapters: caseAdapters(join(file.root!, 'tiny-sd15'), c, loaded),
    ...(c.parameters.vae_tiling ? { vaeTiling: caseTiling(c) } : {}),
  }), provider);
}

export function compare(name: string, what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, kind = KIND): CaseResult {
  if (actual.length !== expected.length) {
    return { case: name, kind, maxAbsDiff: Number.POSITIVE_INFINITY, tolerance: atol, pass: false, detail: `${what}: got ${actual.length} values, expected ${expected.length}` };
  }
  const r = allClose(actual, expected, atol);
  return { case: name, kind, maxAbsDiff: r.maxAbsDiff, tolerance: atol, pass: r.pass, detail: what };
}

export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export async function* checkPipelineCase(file: CaseFile, provider: Provider = 'cpu'): AsyncGenerator<CaseResult> {
  const c = file.json as unknown as PipelineCase;
  const tol = provider === 'cpu' ? tolerancesFor(file, c) : webgpuPipelineTolerances(c.id);
  if (!tol) throw new Error(`no measured ${provider} tolerances for ${c.id}`);
  const { result, stepLatents, stepUnetOutputs, cachedFeatures } = await runPipelineCase(file, provider);
  // A session that could not start on the provider fell back to the CPU (remembered): its results prove nothing.
  if (preferredProvider(provider) !== provider) throw new Error(`a graph fell back from ${provider} to the CPU`);
  const expected = (key: string) => readNpy(join(file.dir, c.files[key])).data as Float32Array;
  yield compare(`pipelines/${c.id}/final_latents`, 'final latents', result.latents, expected('final_latents'), tol.final_latents_atol);
  yield compare(`pipelines/${c.id}/steps_latents`, `latents after each of ${stepLatents.length} steps`, concat(stepLatents), expected('steps_latents'), tol.steps_latents_atol);
  // DeepCache cases: every UNet call (full or shallow) and every cached feature, within the steps' tolerance (README).
  if (c.deepcache) {
    yield compare(`pipelines/${c.id}/steps_unet_output`, `UNet output of each of ${stepUnetOutputs.length} calls`, concat(stepUnetOutputs), expected('steps_unet_output'), tol.steps_latents_atol);
    if (c.files.cached_features) yield compare(`pipelines/${c.id}/cached_features`, `features cached by ${cachedFeatures.length} full calls`, concat(cachedFeatures), expected('cached_features'), tol.steps_latents_atol);
  }
  // Cases without the float image record the decoder output it is made from (or neither: the PNG then).
  if (c.files.image) yield compare(`pipelines/${c.id}/image`, 'image (HWC float)', concat(result.pixels), expected('image'), tol.image_atol);
  else if (c.files.decoded_raw) yield compare(`pipelines/${c.id}/decoded_raw`, 'decoder output', result.decoded, expected('decoded_raw'), tol.image_atol);
  // PNG levels: ±1, ±2 where the case's image tolerance is looser than 1e-3 (README).
  const png = readPng(join(file.dir, c.files.image_png));
  yield compare(`pipelines/${c.id}/image_png`, 'image.png levels', result.images[0].data, png.data, tol.image_png_levels ?? (tol.image_atol > 1e-3 ? 2 : 1));
}

const PIPELINES = new Set([
  'StableDiffusionPipeline', 'StableDiffusionImg2ImgPipeline', 'StableDiffusionInpaintPipeline', 'StableDiffusionControlNetPipeline',
  'StableDiffusionXLPipeline', 'StableDiffusionXLImg2ImgPipeline', 'StableDiffusionXLInpaintPipeline',
]);
/** How tests/golden/vae-tiling names a pipeline run with enable_vae_tiling(). */
const TILING_SUFFIX = / \(\+ enable_vae_tiling\)$/;
const MODEL_KEYS = new Set(['checkpoint', 'unet_in_channels', 'controlnet', 'tokenizer', 'yaml', 'tokenizer_2', 'text_encoder_override']);
const PARAMETER_KEYS = new Set<string>([
  'prompt', 'negative_prompt', 'height', 'width', 'num_inference_steps', 'guidance_scale', 'strength', 'controlnet_conditioning_scale',
  'eta', 'num_images_per_prompt', 'clip_skip', 'guess_mode', 'control_guidance_start', 'control_guidance_end', 'output_type',
  'safety_checker', 'mask', 'loras', 'embeddings', 'a1111_lora_syntax',
  'prompt_2', 'negative_prompt_2', 'original_size', 'crops_coords_top_left', 'target_size', 'negative_original_size',
  'negative_crops_coords_top_left', 'negative_target_size', 'strength_effective', 'parameters_note', 'unet_time_ids_values', 'add_watermarker', 'vae_tiling',
]);
/** Parameters whose one supported value is what Kirie always does (SDXL: no guidance rescale, zeroed empty negatives). */
const ALWAYS: Record<string, unknown> = { guidance_rescale: 0, force_zeros_for_empty_prompt: true };

/** SDXL img2img/inpaint pass these to the UNet only for a refiner (requires_aesthetics_score); a base model ignores them. */
const AESTHETIC = new Set(['aesthetic_score', 'negative_aesthetic_score']);

/** A parameter left at "off" (null, false, empty) asks for nothing, whatever its name. */
function isOff(value: unknown, key = ''): boolean {
  return value === null || value === false || (Array.isArray(value) && value.length === 0) || (key in ALWAYS && ALWAYS[key] === value);
}

function missingFeatures(file: CaseFile, provider: Provider = 'cpu'): string | undefined {
  const c = file.json as unknown as { id: string; pipeline: string; models: Record<string, unknown>; parameters: Record<string, unknown> };
  const missing = new Set<string>();
  if (provider === 'webgpu' && !webgpuPipelineTolerances(c.id)) missing.add('WebGPU tolerances measured for this case (webgpu-tolerances.ts)');
  if (!PIPELINES.has(c.pipeline.replace(TILING_SUFFIX, ''))) missing.add(`the ${c.pipeline}`);
  for (const [key, value] of Object.entries(c.models ?? {})) if (!MODEL_KEYS.has(key) && !isOff(value)) missing.add(`model entry "${key}"`);
  for (const [key, value] of Object.entries(c.parameters)) if (!PARAMETER_KEYS.has(key) && !isOff(value, key) && !(AESTHETIC.has(key) && c.parameters.requires_aesthetics_score !== true)) missing.add(`parameter "${key}"`);
  return missing.size > 0 ? [...missing].join(', ') : undefined;
}

/** DeepCache cases (tests/golden/deepcache): the reference's helper or its experimental pipeline around diffusers 0.24. */
export const deepcacheKind: VerifyKind = {
  kind: 'deepcache',
  matches: (file) => typeof file.json.deepcache === 'object' && typeof file.json.parameters === 'object',
  missingFeatures: (file) => missingFeatures({ ...file, json: { ...file.json, pipeline: 'StableDiffusionPipeline' } }),
  providers: ['cpu'],
  run: checkPipelineCase,
};

export const pipelinesKind: VerifyKind = {
  kind: KIND,
  providers: ['cpu', 'webgpu'],
  matches: (file) => typeof file.json.pipeline === 'string' && file.json.pipeline.startsWith('StableDiffusion') && typeof file.json.parameters === 'object',
  missingFeatures,
  run: checkPipelineCase,
};
