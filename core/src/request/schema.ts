// GenerateRequest: everything that decides a generation's result, in one serialisable object shared by
// the pipeline, the bridge server and every client. Images travel by id (a content hash the server stores
// the uploaded PNG under), so a request is plain JSON. Only `prompt` is required.
import { z } from 'zod';
import { parsePoseJson } from '../control/openpose.js';
import { InpaintOptions } from '../image/options.js';
import { findScheduler, SCHEDULERS } from '../schedulers/registry.js';

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

/** OpenPose-style JSON (people[].pose_keypoints_2d, …); checked by core/src/control's parser, see GenerateRequest. */
export const OpenPoseJson = z.looseObject({ people: z.array(z.looseObject({})) });

export const ControlPreprocessor = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({
    type: z.literal('canny'),
    low: z.number().int().min(0).max(255).default(100),
    high: z.number().int().min(0).max(255).default(200),
  }),
  /** The image is a reference photo: people's poses are detected and drawn as an OpenPose control image. */
  z.object({
    type: z.literal('openpose'),
    /** Also draw hands and face (sd-webui-controlnet's openpose_full) where the detector finds them. */
    full: z.boolean().default(false),
  }),
]);

export const ControlUnit = z
  .object({
    /** ControlNet model id or path. */
    model: z.string().min(1, 'control model is required'),
    /** Control image by id (used as is, or after `preprocessor`). */
    image: ImageId.optional(),
    /** Or a pose, rendered to the control image. */
    pose: OpenPoseJson.optional(),
    preprocessor: ControlPreprocessor.default({ type: 'none' }),
    /** controlnet_conditioning_scale: multiplies this unit's residuals. */
    scale: z.number().min(0).max(4).default(1),
    /** Fraction of the steps where this unit starts / stops acting (diffusers control_guidance_start/end). */
    start: z.number().min(0).max(1).default(0),
    end: z.number().min(0).max(1).default(1),
  })
  .superRefine((u, ctx) => {
    if ((u.image === undefined) === (u.pose === undefined)) ctx.addIssue({ code: 'custom', path: ['image'], message: 'a control unit needs exactly one of image or pose' });
    if (u.pose !== undefined && u.preprocessor.type !== 'none') ctx.addIssue({ code: 'custom', path: ['preprocessor'], message: 'a pose is rendered directly: preprocessor must be none' });
    if (u.start >= u.end) ctx.addIssue({ code: 'custom', path: ['end'], message: `end (${u.end}) must be greater than start (${u.start})` });
    if (u.preprocessor.type === 'canny' && u.preprocessor.low > u.preprocessor.high) ctx.addIssue({ code: 'custom', path: ['preprocessor', 'low'], message: 'canny low threshold must not exceed high' });
  });

/** DPM++ 2M Karras when the registry has it (A1111's default sampler), else the registry's first. */
const DEFAULT_SCHEDULER = (findScheduler('dpmpp_2m_karras') ?? SCHEDULERS[0]).name;

const SchedulerOverride = z.union([z.number(), z.string(), z.boolean(), z.null()]);

const size = (what: string) =>
  z
    .number()
    .int(`${what} must be an integer`)
    .min(64, `${what} must be at least 64`)
    .max(4096, `${what} must be at most 4096`)
    .refine((v) => v % 8 === 0, { message: `${what} must be a multiple of 8` });

export const GenerateRequest = z
  .object({
    /** Checkpoint / model folder id or path as the bridge's model registry knows it. */
    model: z.string().min(1, 'model must not be empty').default('default'),
    prompt: z.string(),
    negativePrompt: z.string().default(''),
    width: size('width').default(512),
    height: size('height').default(512),
    steps: z.number().int().min(1).max(1000).default(20),
    scheduler: z
      .string()
      .refine((name) => findScheduler(name) !== undefined, { message: `unknown scheduler; known: ${SCHEDULERS.map((s) => s.name).join(', ')}` })
      .default(DEFAULT_SCHEDULER),
    /** diffusers scheduler_config overrides in diffusers' own (snake_case) keys, e.g. {"timestep_spacing": "trailing"}. */
    schedulerConfig: z.record(z.string(), SchedulerOverride).default({}),
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
    if (r.seed > MAX_SEED - (r.batchSize - 1)) ctx.addIssue({ code: 'custom', path: ['seed'], message: `seed + batchSize - 1 must not exceed ${MAX_SEED}` });
  });

/** A complete request (all defaults filled in). */
export type GenerateRequest = z.output<typeof GenerateRequest>;
/** What a client may send: every field but prompt optional. */
export type GenerateRequestInput = z.input<typeof GenerateRequest>;
export type ControlUnit = z.output<typeof ControlUnit>;
export type ControlPreprocessor = z.output<typeof ControlPreprocessor>;
export type OpenPoseJson = z.output<typeof OpenPoseJson>;
