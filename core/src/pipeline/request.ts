// A GenerateRequest run end to end: the scheduler it names, per-image seeded noise, its images fetched
// by id, its control units turned into control maps (pose render, pose detection, canny) and ControlNets,
// then the pipeline. Everything host-specific (files, sessions, the pose detector) comes in through RequestDeps.
import { canny } from '../control/canny.js';
import { toRgb } from '../control/preprocess.js';
import type { PoseDetector } from '../control/detector.js';
import { parsePoseJson, placePose } from '../control/openpose.js';
import { renderPose } from '../control/render.js';
import type { RasterImage } from '../image/png.js';
import { resizeImage } from '../image/resize.js';
import type { ControlNetModel } from '../models/sessions.js';
import { imageSeed } from '../request/parse.js';
import type { ControlUnit, GenerateRequest } from '../request/schema.js';
import type { NoiseSource } from '../rng/noise.js';
import { TorchGenerator } from '../rng/torch.js';
import type { OrtSession } from '../runtime/ort.js';
import { createScheduler } from '../schedulers/registry.js';
import { samplingNoise, samplingScheduler } from '../kdiffusion/request.js';
import { familyOf } from './conditioning.js';
import { generate, type ControlInput, type PipelineOptions, type PipelineResult, type PromptTokenizer } from './generate.js';
import { EmbeddingTokenizer, type BpeIds, type Embedding } from '../adapters/embedding.js';
import type { LoraAdapter } from '../adapters/lora.js';
import { embeddingsCalled, extractLoraTags } from '../adapters/prompt.js';
import { adapterFeeds, type AdapterFeeds } from '../adapters/slots.js';
import type { LoraUse } from '../request/schema.js';

/** Image i of a batch draws from its own generator, so it comes out the same alone with seed + i. */
export class PerImageNoise implements NoiseSource {
  constructor(private readonly sources: readonly NoiseSource[]) {}

  randn(shape: readonly number[]): Float32Array {
    const [batch, ...rest] = shape;
    if (batch !== this.sources.length) throw new Error(`noise for a batch of ${batch} asked of ${this.sources.length} per-image generators`);
    const per = rest.reduce((a, b) => a * b, 1);
    const out = new Float32Array(batch * per);
    this.sources.forEach((s, i) => out.set(s.randn([1, ...rest]), i * per));
    return out;
  }
}

/** The LoRAs and embeddings a host has (the bridge: the loras/ and embeddings/ folders), read for the loaded model. */
export interface AdapterLibrary {
  /** A LoRA by the name requests use, read and mapped onto the model (refused when it does not fit). */
  lora(name: string): Promise<LoraAdapter>;
  /** Every name that calls an embedding in a prompt. */
  embeddingNames(): Promise<readonly string[]>;
  embedding(name: string): Promise<Embedding>;
}

export interface RequestDeps extends Omit<PipelineOptions, 'model'> {
  model: PipelineOptions['model'] & {
    /** A text encoder for A1111 "Clip skip" n (the loaded one is n = 1). */
    clipSkip?(n: number): Promise<OrtSession>;
  };
  /** The ControlNet a control unit names. */
  controlNet(name: string): Promise<ControlNetModel>;
  /** An uploaded image by id. */
  image(id: string): Promise<RasterImage>;
  /** Replaces the seeded noise (reference runs replay recorded noise). */
  noise?: NoiseSource;
  /** Finds people in a reference photo: needed by control units with the openpose preprocessor. */
  poseDetector?: PoseDetector;
  /** Where LoRAs and embeddings named by requests come from. */
  adapters?: AdapterLibrary;
}

/**
 * The request's LoRAs: its `loras` field, then its prompt's A1111 tags; and the prompt without the tags. In
 * ComfyUI syntax a tag is text (ComfyUI loads LoRAs with a node, which import turns into `loras`).
 */
export function requestLoras(request: Pick<GenerateRequest, 'prompt' | 'loras' | 'promptSyntax'>): { prompt: string; loras: LoraUse[] } {
  const tagged = request.promptSyntax === 'comfyui' ? { prompt: request.prompt, loras: [] } : extractLoraTags(request.prompt);
  return { prompt: tagged.prompt, loras: [...(request.loras ?? []), ...tagged.loras] };
}

/**
 * The texts that call embeddings by name, by the request field holding each: `prompt` is the prompt without
 * its LoRA tags (requestLoras). The bridge checks the same texts at submit.
 */
export function embeddingTexts(request: Pick<GenerateRequest, 'negativePrompt' | 'prompt2' | 'negativePrompt2'>, prompt: string): Record<'prompt' | 'negativePrompt' | 'prompt2' | 'negativePrompt2', string> {
  return { prompt, negativePrompt: request.negativePrompt, prompt2: request.prompt2 ?? '', negativePrompt2: request.negativePrompt2 ?? '' };
}

interface Conditioning {
  prompt: string;
  adapters?: AdapterFeeds;
  tokenizer?: PromptTokenizer;
  /** SDXL: the second tokenizer, knowing the same embeddings at the same ids. */
  tokenizer2?: PromptTokenizer;
}

/** Reads what a request names and turns it into the graphs' adapter feeds and a tokenizer that knows the embeddings. */
async function conditioning(request: GenerateRequest, deps: RequestDeps): Promise<Conditioning> {
  const { prompt, loras } = requestLoras(request);
  const texts = Object.values(embeddingTexts(request, prompt));
  const names = deps.adapters ? embeddingsCalled(texts, await deps.adapters.embeddingNames()) : [];
  if (loras.length === 0 && names.length === 0) return { prompt };
  const model = deps.model;
  if (!deps.adapters) throw new Error('this host has no LoRA library: requests cannot name LoRAs here');
  if (!familyOf(model).adapters) throw new Error(`${model.name} is an ${familyOf(model).label} model: LoRAs and embeddings for it are not supported yet`);
  if (names.length > 0 && !familyOf(model).embeddings) throw new Error(`${model.name} is an ${familyOf(model).label} model: embeddings for it (${names.join(', ')}) are not supported`);
  if (!model.io.adapters) throw new Error(`${model.name} takes no LoRAs or embeddings: only checkpoints Kirie builds itself (.safetensors) do, not exported ONNX folders`);
  const library = deps.adapters;
  const active = await Promise.all(loras.map(async (l) => ({ adapter: await library.lora(l.name), unet: l.weight, textEncoder: l.textEncoderWeight ?? l.weight })));
  const embeddings = await Promise.all(names.map((n) => library.embedding(n)));
  const feeds = adapterFeeds(model.io.adapters, active, embeddings, model.io.floatType === 'float16');
  if (embeddings.length === 0) return { prompt, adapters: feeds };
  const knowing = (tokenizer: PromptTokenizer) => {
    const base = tokenizer as PromptTokenizer & Partial<BpeIds>;
    if (typeof base.bpeIds !== 'function' || base.vocabSize === undefined) throw new Error(`${model.name}'s tokenizer cannot take added tokens: embeddings need the CLIP tokenizer`);
    return new EmbeddingTokenizer(base as BpeIds, embeddings);
  };
  // Each tokenizer numbers the added tokens after its own vocabulary in the same order, so row k of each encoder's table.
  return { prompt, adapters: feeds, tokenizer: knowing(model.tokenizer), ...(model.tokenizer2 ? { tokenizer2: knowing(model.tokenizer2) } : {}) };
}

async function controlImage(unit: ControlUnit, request: GenerateRequest, deps: RequestDeps): Promise<RasterImage> {
  const { width, height } = request;
  if (unit.pose !== undefined) {
    const doc = parsePoseJson(unit.pose, { width, height });
    const fitted = doc.width === width && doc.height === height ? doc : placePose(doc, { x: 0, y: 0, width, height }, width, height, 'contain');
    return renderPose(fitted);
  }
  const source = await deps.image(unit.image!);
  if (unit.preprocessor.type === 'openpose') {
    if (!deps.poseDetector) throw new Error('this bridge has no pose detector: a control unit with the openpose preprocessor cannot run here');
    // Keypoints are normalised to the photo, so detecting at its own resolution and drawing at the
    // generation's stretches the pose exactly as resizing the photo first ("Just Resize") would.
    const found = await deps.poseDetector.detect(source);
    if (found.people.length === 0) throw new Error('no person found in the reference photo: use a photo where a whole body (or at least head and shoulders) is clearly visible');
    const full = unit.preprocessor.full;
    return renderPose({ ...found, width, height }, { hands: full, face: full });
  }
  // A control image of another size is stretched to the generation's (ControlNet's "Just Resize"), before edge detection.
  const image = source.width === width && source.height === height ? source : await resizeImage(source, { width, height });
  // The picture a user sees: transparency flattened over white, as ControlNet's HWC3 does (browser-encoded
  // PNGs and host layers nearly always carry an alpha channel, with black under the transparent pixels).
  const rgb = toRgb(image);
  return unit.preprocessor.type === 'canny' ? canny(rgb, { low: unit.preprocessor.low, high: unit.preprocessor.high }) : rgb;
}

export async function generateFromRequest(request: GenerateRequest, deps: RequestDeps): Promise<PipelineResult> {
  const base = deps.model;
  const model = request.clipSkip > 1 ? { ...base, textEncoder: await clipSkipEncoder(base, request.clipSkip) } : base;
  const { sampling } = request;
  const scheduler = sampling ? samplingScheduler(sampling) : createScheduler(request.scheduler, { ...(model.schedulerConfig ?? familyOf(model).schedulerConfig), ...request.schedulerConfig });
  const noise =
    deps.noise ??
    (sampling
      ? samplingNoise(sampling, request.seed, request.batchSize)
      : new PerImageNoise(Array.from({ length: request.batchSize }, (_, i) => new TorchGenerator(imageSeed(request, i)))));
  const cond = await conditioning(request, { ...deps, model });
  const control: ControlInput[] = [];
  for (const unit of request.control) {
    control.push({ net: await deps.controlNet(unit.model), image: await controlImage(unit, request, deps), scale: unit.scale, start: unit.start, end: unit.end });
  }
  return generate(
    {
      prompt: cond.prompt,
      negativePrompt: request.negativePrompt,
      ...(request.prompt2 !== undefined ? { prompt2: request.prompt2 } : {}),
      ...(request.negativePrompt2 !== undefined ? { negativePrompt2: request.negativePrompt2 } : {}),
      ...(request.sizeConditioning !== undefined ? { sizeConditioning: request.sizeConditioning } : {}),
      width: request.width,
      height: request.height,
      steps: request.steps,
      ...(request.promptSyntax && request.promptSyntax !== 'plain'
        ? { promptStyle: { syntax: request.promptSyntax, ...(request.emphasis ? { emphasis: request.emphasis } : {}), ...(request.padConds ? { padConds: true } : {}) } }
        : {}),
      scheduler,
      guidance: request.guidance,
      batchSize: request.batchSize,
      strength: request.strength,
      ...(request.initImage !== undefined ? { initImage: await deps.image(request.initImage) } : {}),
      ...(request.mask !== undefined ? { mask: await deps.image(request.mask) } : {}),
      ...(request.maskMode !== undefined ? { maskMode: request.maskMode } : {}),
      control,
      noise,
      ...(cond.adapters ? { adapters: cond.adapters } : {}),
      ...(cond.tokenizer ? { tokenizer: cond.tokenizer } : {}),
      ...(cond.tokenizer2 ? { tokenizer2: cond.tokenizer2 } : {}),
      ...(request.acceleration?.deepCache ? { deepCache: request.acceleration.deepCache } : {}),
    },
    { ...deps, model },
  );
}

async function clipSkipEncoder(model: RequestDeps['model'], n: number): Promise<OrtSession> {
  if (!model.clipSkip) throw new Error(`${model.name} cannot change its text encoder's clip skip (requested ${n})`);
  return model.clipSkip(n);
}
