// POST /v1/jobs: everything a request fixes is checked before it is queued, each refusal a 4xx naming the
// field: the schema (unknown keys, bounds, schedulerConfig, strength × steps), this bridge's limits, what
// each model name is (a checkpoint where one generates, a ControlNet where one controls), whether the model
// can take the LoRAs and embeddings the request calls, the images' sizes, and the job's estimated peak
// memory against the budget.
import { KirieApiError, type AdapterInfo, type ModelInfo, type ModelKind } from '@kirie/core/client/protocol';
import { embeddingsCalled } from '@kirie/core/adapters/prompt';
import { validateGenerateRequest, withResolvedSeed } from '@kirie/core/request/parse';
import { FAMILIES } from '@kirie/core/models/family';
import { embeddingTexts, requestLoras } from '@kirie/core/pipeline/request';
import type { GenerateRequest, LoraUse } from '@kirie/core/request/schema';
import type { ImageStore } from '../jobs/images.js';
import { imageFields } from '../jobs/queue.js';
import type { ModelRegistry } from '../registry/registry.js';
import { checkRequestLimits, type Limits } from './limits.js';
import { estimateJobMemory, largestFitting, type JobShape } from './memory-estimate.js';

export interface SubmitContext {
  limits: Limits;
  registry: ModelRegistry;
  images: ImageStore;
}

/** Kinds that generate: a single-file checkpoint, an inpainting checkpoint, an ONNX pipeline folder. */
const GENERATOR_KINDS: readonly ModelKind[] = ['checkpoint', 'inpaint', 'onnx'];

const MAX_LISTED_ERRORS = 10;

const FAMILY_LABELS = { sd1: 'SD 1.x', sd2: 'SD 2.x', sdxl: 'SDXL' } as const;

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** The request as it will be queued (seed resolved, model ids canonical), or a KirieApiError. */
export async function checkSubmission(body: unknown, context: SubmitContext): Promise<GenerateRequest> {
  const parsed = validateGenerateRequest(body);
  if (!parsed.ok) {
    const first = parsed.errors[0]!;
    // A 100 000-key body must not earn a megabyte of answer: the first few problems say what to fix.
    const shown = parsed.errors.slice(0, MAX_LISTED_ERRORS).map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
    const more = parsed.errors.length - shown.length;
    throw new KirieApiError(400, 'invalid_request', `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`, first.field);
  }
  const request = withResolvedSeed(parsed.request);
  checkRequestLimits(request, context.limits);
  const model = await context.registry.resolve(request.model, 'model');
  if (!GENERATOR_KINDS.includes(model.kind)) {
    throw new KirieApiError(400, 'wrong_model_kind', `model "${model.id}" is a ${model.kind}, not a checkpoint; name a checkpoint here${model.kind === 'controlnet' ? ' and the ControlNet in control[].model' : ''}`, 'model');
  }
  checkFamily(request, model);
  await checkAdapters(request, model, context.registry);
  const controlNets = await Promise.all(
    request.control.map(async (unit, i) => {
      const field = `control.${i}.model`;
      const net = await context.registry.resolve(unit.model, field);
      if (net.kind !== 'controlnet') throw new KirieApiError(400, 'wrong_model_kind', `${field} "${net.id}" is a ${net.kind}, not a ControlNet`, field);
      return net;
    }),
  );
  const canvasPixels = await checkImages(request, context.images);
  checkMemory(request, [model, ...controlNets], canvasPixels, context.limits);
  return { ...request, model: model.id, control: request.control.map((unit, i) => ({ ...unit, model: controlNets[i]!.id })) };
}

/** What the checkpoint's family reads and runs (core/src/models/family.ts): each refusal names its field. */
function checkFamily(request: GenerateRequest, model: ModelInfo): void {
  const family = FAMILIES[model.family ?? 'sd1'];
  const refuse = (field: string, what: string) => {
    throw new KirieApiError(400, 'invalid_request', `${field}: model "${model.id}" is an ${family.label} model, ${what}`, field);
  };
  if (family.textEncoders.length < 2) {
    for (const field of ['prompt2', 'negativePrompt2'] as const) if (request[field] !== undefined) refuse(field, 'with one text encoder: this field needs an SDXL model');
  }
  if (!family.sizeConditioning && request.sizeConditioning !== undefined) refuse('sizeConditioning', 'with no size conditioning: this field needs an SDXL model');
  if (!family.clipSkip && request.clipSkip > 1) refuse('clipSkip', 'and clip skip for it is not supported yet (its text encoders already take the penultimate layer); leave clipSkip at 1');
  if (request.control.length > 0 && family.prefixes.controlnet === undefined) refuse('control.0.model', 'and ControlNets for it are not supported yet');
  // A prompt tag that does not parse is checkLoras's to report.
  const tagged = () => {
    try {
      return requestLoras(request).loras.length > 0;
    } catch {
      return false;
    }
  };
  if (!family.adapters && (request.loras?.length || tagged())) refuse(request.loras?.length ? 'loras.0.name' : 'prompt', 'and LoRAs for it are not supported yet');
}

/**
 * The LoRAs the request names (in `loras` or as prompt tags) and the embeddings its texts call, checked
 * against one listing of the adapter folders that reads only the headers needed: every LoRA's when the
 * request names one (a missing one's refusal lists the others), and only the called embeddings'.
 */
async function checkAdapters(request: GenerateRequest, model: ModelInfo, registry: ModelRegistry): Promise<void> {
  let uses;
  try {
    uses = requestLoras(request);
  } catch (err) {
    throw new KirieApiError(400, 'invalid_request', `prompt: ${(err as Error).message}`, 'prompt');
  }
  const texts = embeddingTexts(request, uses.prompt);
  const { loras } = uses;
  const listed = await registry.adapters((kind, names) => (kind === 'lora' ? (loras.length > 0 ? names : []) : embeddingsCalled(Object.values(texts), names)));
  checkLoras(request, loras, model, listed.filter((a) => a.kind === 'lora'));
  checkEmbeddings(texts, model, listed.filter((a) => a.kind === 'embedding'));
}

/** Every LoRA named is in the loras folder, and the model can take it. */
function checkLoras(request: GenerateRequest, loras: readonly LoraUse[], model: ModelInfo, known: readonly AdapterInfo[]): void {
  if (loras.length === 0) return;
  const fieldOf = (i: number) => (i < (request.loras?.length ?? 0) ? `loras.${i}.name` : 'prompt');
  if (model.kind === 'onnx') throw new KirieApiError(400, 'wrong_model_kind', `model "${model.id}" is an ONNX folder: LoRAs apply to checkpoints Kirie builds itself (.safetensors)`, fieldOf(0));
  loras.forEach((l, i) => {
    const info = known.find((a) => a.name === l.name);
    if (!info) {
      const found = known.slice(0, 10).map((a) => a.name).join(', ') || 'none';
      throw new KirieApiError(400, 'unknown_lora', `no LoRA named "${l.name}" in the models folder's loras/ (or Lora/, LoRA/, lora/, LyCORIS/); found: ${found}`, fieldOf(i));
    }
    // The family read from the file's key names and shapes (core/src/adapters/family.ts); 'unknown' is left to the run.
    if (model.family && info.family !== 'unknown' && info.family !== model.family) {
      throw new KirieApiError(400, 'invalid_request', `${fieldOf(i)}: LoRA "${l.name}" was made for ${FAMILY_LABELS[info.family]} models; model "${model.id}" is ${FAMILY_LABELS[model.family]}`, fieldOf(i));
    }
  });
}

/** Every embedding the texts call fits the model; each refusal names the text field that calls it. */
function checkEmbeddings(texts: Record<string, string>, model: ModelInfo, called: readonly AdapterInfo[]): void {
  for (const [field, text] of Object.entries(texts)) {
    for (const name of embeddingsCalled([text], called.map((e) => e.name))) {
      const calls = `${field} calls embedding "${name}"`;
      if (model.kind === 'onnx') throw new KirieApiError(400, 'wrong_model_kind', `${calls}, but model "${model.id}" is an ONNX folder: embeddings apply to checkpoints Kirie builds itself (.safetensors)`, field);
      const misfit = embeddingMisfit(called.find((e) => e.name === name)!, model);
      if (misfit) throw new KirieApiError(400, 'invalid_request', `${calls}, ${misfit}`, field);
    }
  }
}

/**
 * Why the run would refuse the embedding file (core/src/adapters/embedding.ts): another family's, or one the
 * listing gives a problem (an SDXL file without clip_g, unequal counts, a damaged header). Undefined: it fits,
 * or only the run can tell (an SD 1.x-style file of a width no family has, as a tiny test model's).
 */
function embeddingMisfit(info: AdapterInfo, model: ModelInfo): string | undefined {
  const family = info.family === 'unknown' ? undefined : FAMILY_LABELS[info.family];
  if (model.family && family && info.family !== model.family) return `made for ${family} models; model "${model.id}" is ${FAMILY_LABELS[model.family]}`;
  if (info.problem) return `which model "${model.id}" cannot use: ${info.problem}`;
  // An SDXL model reads clip_l and clip_g, and a file of unknown family has neither (core/src/adapters/family.ts).
  if (model.family === 'sdxl' && !family) return `which has no clip_l and clip_g vectors (not an SDXL embedding); model "${model.id}" is SDXL`;
  return undefined;
}

/**
 * Every image exists; the init image and mask match what the pipeline will generate (the request's size,
 * or with `inpaint` options each other: the canvas is cropped to the model size). Control images are
 * stretched to the generation's size, so any size does. Returns the inpaint canvas's pixels (0 without).
 */
async function checkImages(request: GenerateRequest, images: ImageStore): Promise<number> {
  const sizes = new Map<string, { width: number; height: number }>();
  for (const [field, id] of imageFields(request)) {
    const size = await images.dimensions(id);
    if (!size) throw new KirieApiError(400, 'unknown_image', `${field} names image "${id}", which is not on the bridge; upload it with PUT /v1/images first`, field);
    sizes.set(field, size);
  }
  const init = sizes.get('initImage');
  const mask = sizes.get('mask');
  const mismatch = (field: string, got: { width: number; height: number }, want: { width: number; height: number }, what: string) =>
    new KirieApiError(400, 'size_mismatch', `${field} is ${got.width}x${got.height} but ${what} is ${want.width}x${want.height}; they must match`, field);
  if (request.inpaint) {
    if (init && mask && (mask.width !== init.width || mask.height !== init.height)) throw mismatch('mask', mask, init, 'initImage');
    return init ? init.width * init.height : 0;
  }
  for (const [field, size] of [['initImage', init], ['mask', mask]] as const) {
    if (size && (size.width !== request.width || size.height !== request.height)) throw mismatch(field, size, request, 'the request (width x height)');
  }
  return 0;
}

function checkMemory(request: GenerateRequest, models: ModelInfo[], canvasPixels: number, limits: Limits): void {
  // With `inpaint` the context crop is scaled to fit the request's sides, so either side may reach the longer one.
  const side = Math.max(request.width, request.height);
  const shape: JobShape = {
    width: request.inpaint ? side : request.width,
    height: request.inpaint ? side : request.height,
    batchSize: request.batchSize,
    cfg: request.guidance > 1,
    controlUnits: request.control.length,
    encodes: request.initImage !== undefined,
    weightsBytes: models.reduce((sum, m) => sum + m.sizeBytes, 0),
    canvasPixels,
    ...(request.acceleration?.deepCache ? { deepCacheBranch: request.acceleration.deepCache.branch } : {}),
    ...(models[0]?.family ? { family: models[0].family } : {}),
    ...(models[0]?.kind === 'onnx' ? { attention: 'unfused' as const } : {}),
  };
  const budget = limits.memoryBytes;
  const estimate = estimateJobMemory(shape, budget);
  if (estimate.peakBytes <= budget) return;
  const need = `this job needs about ${gib(estimate.peakBytes)} (weights ${gib(estimate.weightsBytes)}, generation ${gib(estimate.peakBytes - estimate.weightsBytes)}); the memory budget is ${gib(budget)} (kirie serve --memory)`;
  if (estimate.weightsBytes >= budget) throw new KirieApiError(400, 'limit_exceeded', `${need}: the models alone do not fit`, 'model');
  const fit = largestFitting(shape, budget);
  const smaller = fit.size ? `at batchSize ${request.batchSize} the largest that fits is ${fit.size.width}x${fit.size.height}` : `nothing fits at batchSize ${request.batchSize}`;
  const fewer = fit.batchSize > 0 ? `; at ${request.width}x${request.height} a batchSize of ${fit.batchSize} fits` : '';
  throw new KirieApiError(400, 'limit_exceeded', `${need}: ${smaller}${fewer}`, fit.batchSize > 0 ? 'batchSize' : 'width');
}
