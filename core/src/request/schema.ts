// GenerateRequest: everything that decides a generation's result, in one serialisable object shared by
// the pipeline, the bridge server and every client. Images travel by id (a content hash the server stores
// the uploaded PNG under), so a request is plain JSON. Only `prompt` is required.
import { z } from 'zod';
import { BODY_KEYPOINTS, HAND_KEYPOINT_COUNT, parsePoseJson } from '../control/openpose.js';
import { MANNEQUIN_JOINTS } from '../control/mannequin.js';
import { InpaintOptions } from '../image/options.js';
import { findScheduler, SCHEDULERS } from '../schedulers/registry.js';
import { A1111_BROWNIAN_REFUSAL, A1111_BROWNIAN_SAMPLERS, A1111_SAMPLER_NAMES, COMFY_SAMPLER_NAMES } from '../kdiffusion/names.js';
import { A1111_SCHEDULE_TYPES, COMFY_SCHEDULERS } from '../kdiffusion/schedules.js';
import { A1111_RNG_SOURCES } from '../rng/a1111.js';
import { checkSchedule, SchedulerConfigOverrides } from './scheduler-config.js';
import { A1111_EMPHASIS } from '../prompt/chunks.js';
import { a1111WeightProblem, PROMPT_SYNTAXES, unsupportedAnd } from '../prompt/stage.js';

/** A scheduler name or alias from core/src/schedulers' registry (e.g. "euler_a", "dpmpp_2m_karras"). */
export type SchedulerName = string;

/** Where the initial and step noise comes from. torch-cpu = torch.manual_seed(seed); torch.randn(...) on the CPU (A1111 "CPU", ComfyUI). */
export const NOISE_SOURCES = ['torch-cpu'] as const;

/** How a mask's grey levels are read: see GenerateRequest.maskMode. */
export const MASK_MODES = ['binary', 'soft'] as const;
export type MaskMode = (typeof MASK_MODES)[number];

/** Largest seed: torch.manual_seed takes 64-bit seeds, but JSON numbers are exact only up to 2^53. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

// An id doubles as a file name on the server, so no separators and no leading dot.
export const ImageId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'image id must be 1-128 letters, digits, "_", "-" or "." (a content hash), not starting with "."');

/** OpenPose's BODY_25 layout (the largest body parsePoseJson reads; COCO-18 is the other). */
const BODY25_POINTS = 25;
/** OpenPose's face model has 70 points (DWPose's 68 fit too). */
const FACE_POINTS = 70;
/** AP-10K animal keypoints, as sd-webui-controlnet's animal pose JSON writes them (not drawn by Kirie). */
const ANIMAL_POINTS = 17;
/** More figures than any ControlNet pose image can show legibly at 4096 px. */
export const MAX_POSE_PEOPLE = 64;
/** Canvas sides a pose may declare: it is scaled to the request's size, so this only bounds the arithmetic. */
export const MAX_POSE_CANVAS = 16_384;

/** A flat [x, y, confidence, …] list of at most `points` points (`stride` numbers each). */
const keypoints = (what: string, points: number, stride = 3) =>
  z.array(z.number().finite()).max(points * stride, `${what} has at most ${points} points (${points * stride} numbers)`);

/** One person as OpenPose writes it (`*_3d` come from its 3-D mode and are ignored here). */
export const OpenPosePerson = z.strictObject({
  person_id: z.union([z.number().int(), z.array(z.number().int()).max(4)]).optional(),
  pose_keypoints_2d: keypoints('pose_keypoints_2d', Math.max(BODY25_POINTS, BODY_KEYPOINTS.length)).optional(),
  hand_left_keypoints_2d: keypoints('hand_left_keypoints_2d', HAND_KEYPOINT_COUNT).optional(),
  hand_right_keypoints_2d: keypoints('hand_right_keypoints_2d', HAND_KEYPOINT_COUNT).optional(),
  face_keypoints_2d: keypoints('face_keypoints_2d', FACE_POINTS).optional(),
  pose_keypoints_3d: keypoints('pose_keypoints_3d', BODY25_POINTS, 4).optional(),
  hand_left_keypoints_3d: keypoints('hand_left_keypoints_3d', HAND_KEYPOINT_COUNT, 4).optional(),
  hand_right_keypoints_3d: keypoints('hand_right_keypoints_3d', HAND_KEYPOINT_COUNT, 4).optional(),
  face_keypoints_3d: keypoints('face_keypoints_3d', FACE_POINTS, 4).optional(),
});

const canvasSide = (what: string) => z.number().int(`${what} must be an integer`).positive(`${what} must be positive`).max(MAX_POSE_CANVAS, `${what} must be at most ${MAX_POSE_CANVAS}`);

/** OpenPose JSON as OpenPose, pose editors and sd-webui-controlnet write it; core/src/control's parser reads it. */
export const OpenPoseJson = z.strictObject({
  version: z.union([z.number().finite(), z.string().max(16)]).optional(),
  canvas_width: canvasSide('canvas_width').optional(),
  canvas_height: canvasSide('canvas_height').optional(),
  people: z.array(OpenPosePerson).max(MAX_POSE_PEOPLE, `a pose has at most ${MAX_POSE_PEOPLE} people`),
  animals: z.array(keypoints('animals[]', ANIMAL_POINTS)).max(MAX_POSE_PEOPLE).optional(),
});

/** Metres from the origin a mannequin scene may place anything: far beyond any camera's useful range. */
const MAX_SCENE_DISTANCE = 1000;
const sceneVector = z.tuple([0, 1, 2].map(() => z.number().min(-MAX_SCENE_DISTANCE).max(MAX_SCENE_DISTANCE)) as [z.ZodNumber, z.ZodNumber, z.ZodNumber]).readonly();
const sceneAngles = z.tuple([0, 1, 2].map(() => z.number().min(-360).max(360)) as [z.ZodNumber, z.ZodNumber, z.ZodNumber]).readonly();

/** A 3-D mannequin scene (core/src/control/mannequin.ts's MannequinScene) as the pose editors save it. */
export const MannequinSceneJson = z.strictObject({
  figures: z.array(z.strictObject({ position: sceneVector, rotations: z.partialRecord(z.enum(MANNEQUIN_JOINTS as [string, ...string[]]), sceneAngles) })).min(1, 'a mannequin scene has at least one figure').max(MAX_POSE_PEOPLE, `a mannequin scene has at most ${MAX_POSE_PEOPLE} figures`),
  camera: z.strictObject({ position: sceneVector, target: sceneVector, fov: z.number().gt(0).lt(180), near: z.number().positive().optional() }),
});

export const ControlPreprocessor = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('canny'),
    low: z.number().int().min(0).max(255).default(100),
    high: z.number().int().min(0).max(255).default(200),
  }),
  /** The image is a reference photo: people's poses are detected and drawn as an OpenPose control image. */
  z.strictObject({
    type: z.literal('openpose'),
    /** Also draw hands and face (sd-webui-controlnet's openpose_full) where the detector finds them. */
    full: z.boolean().default(false),
  }),
]);

export const ControlUnit = z
  .strictObject({
    /** ControlNet model id or path. */
    model: z.string().min(1, 'control model is required'),
    /** Control image by id (used as is, or after `preprocessor`). */
    image: ImageId.optional(),
    /** Or a pose, rendered to the control image. */
    pose: OpenPoseJson.optional(),
    /**
     * The 3-D mannequin scene `pose` was projected from, when a mannequin editor made it: not read by the
     * generation (the pose is), kept in the recipe so the result can be re-posed.
     */
    mannequin: MannequinSceneJson.optional(),
    preprocessor: ControlPreprocessor.default({ type: 'none' }),
    /** controlnet_conditioning_scale: multiplies this unit's residuals. */
    scale: z.number().min(0).max(4).default(1),
    /** Fraction of the steps where this unit starts / stops acting (diffusers control_guidance_start/end). */
    start: z.number().min(0).max(1).default(0),
    end: z.number().min(0).max(1).default(1),
  })
  .superRefine((u, ctx) => {
    if ((u.image === undefined) === (u.pose === undefined)) ctx.addIssue({ code: 'custom', path: ['image'], message: 'a control unit needs exactly one of image or pose' });
    if (u.mannequin !== undefined && u.pose === undefined) ctx.addIssue({ code: 'custom', path: ['mannequin'], message: 'a mannequin scene comes with the pose projected from it' });
    if (u.pose !== undefined && u.preprocessor.type !== 'none') ctx.addIssue({ code: 'custom', path: ['preprocessor'], message: 'a pose is rendered directly: preprocessor must be none' });
    if (u.start >= u.end) ctx.addIssue({ code: 'custom', path: ['end'], message: `end (${u.end}) must be greater than start (${u.start})` });
    if (u.preprocessor.type === 'canny' && u.preprocessor.low > u.preprocessor.high) ctx.addIssue({ code: 'custom', path: ['preprocessor', 'low'], message: 'canny low threshold must not exceed high' });
  });

/** Most LoRAs one request may stack (A1111 has no limit; a few is what styles use). */
export const MAX_LORAS = 16;
/** A1111 lets multipliers go anywhere; beyond ±8 a LoRA only produces noise, and the bound keeps the sums finite. */
export const MAX_LORA_WEIGHT = 8;

/** A LoRA or embedding as the bridge lists it: its file name without extension, never a path. */
export const AdapterName = z
  .string()
  .min(1, 'a LoRA name must not be empty')
  .max(200, 'a LoRA name has at most 200 characters')
  .regex(/^(?!\.)[^/\\:<>\u0000-\u001f]+$/, 'a LoRA name is a file name from the loras folder without extension: no path separators, ":", "<", ">", or a leading "."');

const loraWeight = (what: string) => z.number().min(-MAX_LORA_WEIGHT, `${what} must be at least -${MAX_LORA_WEIGHT}`).max(MAX_LORA_WEIGHT, `${what} must be at most ${MAX_LORA_WEIGHT}`);

export const LoraUse = z.strictObject({
  name: AdapterName,
  /** A1111's multiplier: W' = W + weight·ΔW on the UNet (and the text encoder unless textEncoderWeight is given). */
  weight: loraWeight('weight').default(1),
  /** A1111's separate text-encoder multiplier (`<lora:name:te:unet>`). */
  textEncoderWeight: loraWeight('textEncoderWeight').optional(),
});

const oneOf = (what: string, names: readonly string[]) => ({ message: `${what} must be one of: ${names.join(', ')}` });

/** Sampling as AUTOMATIC1111 v1.10 does it: its "Sampler", "Schedule type", "RNG" and variation seed. */
export const A1111Sampling = z.strictObject({
  tool: z.literal('a1111'),
  sampler: z.enum(A1111_SAMPLER_NAMES, {
    error: (issue) =>
      typeof issue.input === 'string' && issue.input in A1111_BROWNIAN_SAMPLERS
        ? `sampler "${issue.input}" is not supported: ${A1111_BROWNIAN_REFUSAL}`
        : oneOf('sampler', A1111_SAMPLER_NAMES).message,
  }),
  scheduleType: z.enum(A1111_SCHEDULE_TYPES, oneOf('scheduleType', A1111_SCHEDULE_TYPES)).default('Automatic'),
  /** "NV" = A1111's CPU emulation of its default "GPU" source (what a recipe without an RNG entry used). */
  rng: z.enum(A1111_RNG_SOURCES, oneOf('rng', A1111_RNG_SOURCES)).default('NV'),
  variationSeed: z.number().int().min(0).max(MAX_SEED).optional(),
  variationStrength: z.number().min(0).max(1).default(0),
  /** Settings › "Eta noise seed delta" (ENSD). */
  etaNoiseSeedDelta: z.number().int().min(0).max(MAX_SEED).default(0),
});

/** Sampling as ComfyUI 0.3's KSampler does it: `sampler_name` and `scheduler` (`denoise` is the request's strength). */
export const ComfySampling = z.strictObject({
  tool: z.literal('comfyui'),
  samplerName: z.enum(COMFY_SAMPLER_NAMES, oneOf('samplerName', COMFY_SAMPLER_NAMES)),
  scheduler: z.enum(COMFY_SCHEDULERS, oneOf('scheduler', COMFY_SCHEDULERS)),
});

/** DeepCache's cache branches on SD1.5's UNet: one per skip connection (tests/golden/deepcache/README.md). */
export const DEEPCACHE_BRANCHES = 12;
export const MAX_DEEPCACHE_INTERVAL = 50;

/** Opt-in speed-ups that change the result (within what their papers measure). */
export const Acceleration = z.strictObject({
  /**
   * DeepCache (arXiv 2312.00858, its reference DeepCacheSDHelper): a full UNet call every `interval` steps
   * caches the features entering the up path at skip `branch`; the calls between run only the blocks outside
   * it. interval 2-3 with branch 0 is the paper's quality/speed setting.
   */
  deepCache: z
    .strictObject({
      interval: z.number().int().min(1).max(MAX_DEEPCACHE_INTERVAL, `interval must be at most ${MAX_DEEPCACHE_INTERVAL}`),
      branch: z.number().int().min(0).max(DEEPCACHE_BRANCHES - 1, `branch must be 0-${DEEPCACHE_BRANCHES - 1}`).default(0),
      /** The reference's non-uniform schedule: full calls crowd around step `center` (core/src/pipeline/deepcache.ts). */
      nonUniform: z.strictObject({ center: z.number().int().min(0).max(1000), pow: z.number().gt(1, 'pow must be greater than 1').max(4) }).optional(),
    })
    .optional(),
});

const conditioningSize = z.strictObject({ width: z.number().int().min(1).max(16384), height: z.number().int().min(1).max(16384) });
const cropTopLeft = z.strictObject({ top: z.number().int().min(0).max(16384), left: z.number().int().min(0).max(16384) });

/**
 * SDXL's micro-conditioning, pixels (diffusers' original_size, crops_coords_top_left, target_size and their
 * negatives): what the model was told about the training image's size and crop. The negative ones count only
 * when both negativeOriginalSize and negativeTargetSize are given, as in StableDiffusionXLPipeline.
 */
export const SizeConditioningRequest = z.strictObject({
  originalSize: conditioningSize.optional(),
  cropTopLeft: cropTopLeft.optional(),
  targetSize: conditioningSize.optional(),
  negativeOriginalSize: conditioningSize.optional(),
  negativeCropTopLeft: cropTopLeft.optional(),
  negativeTargetSize: conditioningSize.optional(),
});

/** DPM++ 2M Karras when the registry has it (A1111's default sampler), else the registry's first. */
const DEFAULT_SCHEDULER = (findScheduler('dpmpp_2m_karras') ?? SCHEDULERS[0]).name;

const size = (what: string) =>
  z
    .number()
    .int(`${what} must be an integer`)
    .min(64, `${what} must be at least 64`)
    .max(4096, `${what} must be at most 4096`)
    // multipleOf rather than a refine: JSON Schema (and so /v1/openapi.json) can state it.
    .multipleOf(8, `${what} must be a multiple of 8`);

export const GenerateRequest = z
  .strictObject({
    /** Checkpoint / model folder id or path as the bridge's model registry knows it. */
    model: z.string().min(1, 'model must not be empty').default('default'),
    prompt: z.string(),
    /** Empty: no negative prompt (SDXL models then condition the negative batch on zeros, as diffusers does). */
    negativePrompt: z.string().default(''),
    /** SDXL models: the second text encoder's prompt (diffusers' prompt_2). Absent: the prompt. */
    prompt2: z.string().optional(),
    /** SDXL models: the second text encoder's negative prompt (negative_prompt_2). Absent: negativePrompt. */
    negativePrompt2: z.string().optional(),
    /** SDXL models' micro-conditioning (original size, crop, target size). Absent: the generation size, no crop. */
    sizeConditioning: SizeConditioningRequest.optional(),
    width: size('width').default(512),
    height: size('height').default(512),
    steps: z.number().int().min(1).max(1000).default(20),
    scheduler: z
      .string()
      .refine((name) => findScheduler(name) !== undefined, { message: `unknown scheduler; known: ${SCHEDULERS.map((s) => s.name).join(', ')}` })
      .default(DEFAULT_SCHEDULER),
    /** diffusers scheduler_config overrides in diffusers' own (snake_case) keys, e.g. {"timestep_spacing": "trailing"}. */
    schedulerConfig: SchedulerConfigOverrides.default({}),
    /** Classifier-free guidance scale; ≤ 1 turns CFG off (one UNet batch, negative prompt unused). */
    guidance: z.number().min(0).max(50).default(7.5),
    /** -1 = pick one at random; the job records the seed it used. Image i of a batch uses seed + i. */
    seed: z.number().int().min(-1).max(MAX_SEED).default(-1),
    noiseSource: z.enum(NOISE_SOURCES).default('torch-cpu'),
    batchSize: z.number().int().min(1).max(16).default(1),
    /** AUTOMATIC1111 "Clip skip": 1 = last layer, 2 = penultimate (+ final layer norm), ... */
    clipSkip: z.number().int().min(1).max(12).default(1),
    /** img2img / inpaint denoising strength: the fraction of the schedule that is run. */
    strength: z.number().gt(0, 'strength must be greater than 0').max(1).default(0.75),
    initImage: ImageId.optional(),
    /** L image, white = repaint. Needs initImage. */
    mask: ImageId.optional(),
    /**
     * What the mask's grey levels mean for a 4-channel UNet. 'binary' (also when absent): ≥ 128 repaints,
     * below keeps the original, exactly as diffusers (and so every reference case) does. 'soft': a grey
     * level v frees its latent pixel for the last ⌈v·steps⌉ steps (core/src/image/softmask.ts), so a
     * feathered mask blends gradually: what planInpaint's masks are made for. A 9-channel inpainting UNet
     * takes the binarised mask as an input, so there 'soft' changes nothing. Absent rather than defaulted,
     * so plain requests (and their recipes) stay as they were.
     */
    maskMode: z.enum(MASK_MODES, { message: `maskMode must be one of ${MASK_MODES.join(', ')}` }).optional(),
    /** Context crop, feathering and blending around the pipeline (core/src/image). */
    inpaint: InpaintOptions.optional(),
    control: z.array(ControlUnit).max(8).default([]),
    /**
     * LoRA / LyCORIS files applied to the model, added to those named by A1111 `<lora:name:w>` tags in the
     * prompt. Absent rather than defaulted, so plain requests (and their recipes) stay as they were.
     */
    loras: z.array(LoraUse).max(MAX_LORAS, `at most ${MAX_LORAS} LoRAs`).optional(),
    /** Opt-in speed-ups (DeepCache). Absent rather than defaulted, so plain requests (and their recipes) stay as they were. */
    acceleration: Acceleration.optional(),
    /**
     * How the prompts are read. 'a1111': AUTOMATIC1111's syntax — (word:1.2), (word), [word], \\( escapes,
     * BREAK, prompt editing [from:to:when] and alternation [a|b], prompts beyond 75 tokens in chunks (AND is
     * refused). 'comfyui': ComfyUI's CLIPTextEncode — (word:1.2) weighted from the empty prompt's encoding,
     * chunks beyond 75 tokens; everything else is text. 'plain' (also when absent): diffusers' reading, one
     * 77-token window where brackets are text, which every diffusers-exact reference case uses. Panels send
     * 'a1111'. Absent rather than defaulted, so plain requests (and their recipes) stay as they were.
     */
    promptSyntax: z.enum(PROMPT_SYNTAXES, oneOf('promptSyntax', PROMPT_SYNTAXES)).optional(),
    /** A1111 "Emphasis" (promptSyntax 'a1111'): Original (A1111's default) rescales to the chunk's mean, No norm only multiplies, Ignore drops weights, None reads brackets as text. */
    emphasis: z.enum(A1111_EMPHASIS, oneOf('emphasis', A1111_EMPHASIS)).optional(),
    /** A1111 "Pad prompt/negative prompt" (infotext "Pad conds: True", promptSyntax 'a1111'): the shorter conditioning is padded with the empty prompt's. */
    padConds: z.boolean().optional(),
    /**
     * Sample as AUTOMATIC1111 or ComfyUI would (k-diffusion samplers, that tool's sigma schedule and noise),
     * so their recipes reproduce; replaces scheduler, schedulerConfig and noiseSource. Absent: diffusers-exact.
     */
    sampling: z.discriminatedUnion('tool', [A1111Sampling, ComfySampling], { message: 'sampling.tool must be "a1111" or "comfyui"' }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.mask !== undefined && r.initImage === undefined) ctx.addIssue({ code: 'custom', path: ['mask'], message: 'a mask needs an initImage to repaint' });
    if (r.maskMode !== undefined && r.mask === undefined) ctx.addIssue({ code: 'custom', path: ['maskMode'], message: 'maskMode needs a mask' });
    if (r.inpaint !== undefined && r.mask === undefined) ctx.addIssue({ code: 'custom', path: ['inpaint'], message: 'inpaint options need a mask' });
    r.control.forEach((u, i) => {
      if (u.pose === undefined) return;
      try {
        parsePoseJson(u.pose, { width: r.width, height: r.height });
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['control', i, 'pose'], message: (err as Error).message });
      }
    });
    if (r.sampling && r.mask !== undefined) ctx.addIssue({ code: 'custom', path: ['sampling'], message: 'inpainting (a mask) is not supported with A1111/ComfyUI sampling yet: leave sampling out' });
    if (r.sampling?.tool === 'a1111' && r.sampling.variationStrength > 0 && r.sampling.variationSeed === undefined) {
      ctx.addIssue({ code: 'custom', path: ['sampling', 'variationSeed'], message: 'a variationStrength needs a variationSeed' });
    }
    if (r.promptSyntax !== 'a1111') {
      if (r.emphasis !== undefined) ctx.addIssue({ code: 'custom', path: ['emphasis'], message: 'emphasis is an A1111 setting: it needs promptSyntax "a1111"' });
      if (r.padConds !== undefined) ctx.addIssue({ code: 'custom', path: ['padConds'], message: 'padConds is an A1111 setting: it needs promptSyntax "a1111"' });
    } else {
      const and = unsupportedAnd(r.prompt);
      if (and) ctx.addIssue({ code: 'custom', path: ['prompt'], message: and });
      for (const field of ['prompt', 'negativePrompt'] as const) {
        const problem = a1111WeightProblem(r[field]);
        if (problem) ctx.addIssue({ code: 'custom', path: [field], message: problem });
      }
    }
    if (r.acceleration?.deepCache && r.control.length > 0) ctx.addIssue({ code: 'custom', path: ['acceleration', 'deepCache'], message: 'DeepCache cannot be combined with control units yet' });
    if (r.seed > MAX_SEED - (r.batchSize - 1)) ctx.addIssue({ code: 'custom', path: ['seed'], message: `seed + batchSize - 1 must not exceed ${MAX_SEED}` });
  })
  // Builds the scheduler, so only from values already known to be in range (a refused
  // num_train_timesteps of 1e9 must not be allocated to find out).
  .superRefine(
    (r, ctx) => {
      const issue = checkSchedule(r);
      if (issue) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    },
    { when: (payload) => payload.issues.length === 0 },
  );

/** A complete request (all defaults filled in). */
export type GenerateRequest = z.output<typeof GenerateRequest>;
/** What a client may send: every field but prompt optional. */
export type GenerateRequestInput = z.input<typeof GenerateRequest>;
export type ControlUnit = z.output<typeof ControlUnit>;
export type LoraUse = z.output<typeof LoraUse>;
export type ControlPreprocessor = z.output<typeof ControlPreprocessor>;
export type OpenPoseJson = z.output<typeof OpenPoseJson>;
