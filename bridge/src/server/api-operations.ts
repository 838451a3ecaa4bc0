// What each /v1 route takes and answers, in the protocol's words: the part of the OpenAPI document that
// the route table and the schemas cannot say themselves (summaries, which refusals a route can give, examples).
// openapi.ts joins it with the routes fastify actually registered; bridge/test/server/openapi.test.ts drives
// every entry here against the live server, so nothing below can drift from what the server does.
import type { ApiErrorBody, Health, PublicHealth, ImageUploaded, JobEvent, JobInfo, JobSubmitted, ModelInfo } from '@kirie/core/client/protocol';
import { MAX_SEED, type GenerateRequestInput } from '@kirie/core/request/schema';
import { PAIRING_TTL_SECONDS, type PairingApproval, type PairingApproved, type PairingRequest, type PairingStarted, type PairingStatus } from '@kirie/core/client/pairing';
import type { Limits } from './limits.js';
import { estimateJobMemory } from './memory-estimate.js';
import { MAX_PENDING_PAIRINGS } from './pairing.js';

/**
 * Every refusal the bridge answers with: its status, its `error.code` (the name, unless `code` says
 * otherwise: one code may come with two statuses), and an answer as the server words it.
 */
export const API_ERRORS = {
  invalid_json: { status: 400, example: { message: 'Body is not valid JSON but content-type is set to \'application/json\'', field: 'body' } },
  invalid_request: { status: 400, example: { message: 'width: width must be a multiple of 8', field: 'width' } },
  limit_exceeded: { status: 400, example: { message: 'steps is 200; the limit is 150', field: 'steps' } },
  too_deep: { status: 400, example: { message: 'the JSON body nests arrays and objects deeper than 32 levels (at character 40)', field: 'body' } },
  wrong_model_kind: { status: 400, example: { message: 'model "control_v11p_sd15_openpose.safetensors" is a controlnet, not a checkpoint; name a checkpoint here and the ControlNet in control[].model', field: 'model' } },
  size_mismatch: { status: 400, example: { message: 'initImage is 512x512 but the request (width x height) is 768x512; they must match', field: 'initImage' } },
  unknown_image: { status: 400, example: { message: 'initImage names image "9f86d0…", which is not on the bridge; upload it with PUT /v1/images first', field: 'initImage' } },
  unknown_model: { status: 400, example: { message: 'model "sdxl" is not in the models folder; known models: dreamshaper_8.safetensors', field: 'model' } },
  unknown_lora: { status: 400, example: { message: 'no LoRA named "paper-cut" in the models folder\'s loras/ (or Lora/, LoRA/, lora/, LyCORIS/); found: isometric, mosaic', field: 'loras.0.name' } },
  no_model: { status: 400, example: { message: 'no checkpoint in the models folder; put a .safetensors checkpoint there (or run `kirie models random --arch tiny`)', field: 'model' } },
  unreadable_model: { status: 400, example: { message: 'model "sd15.safetensors" cannot be read (permission denied)', field: 'model' } },
  unsupported_model: { status: 400, example: { message: 'model "notes.txt" is not a model Kirie can run (`kirie models info` says what it looks like)', field: 'model' } },
  damaged_model: { status: 400, example: { message: 'model "sd15.safetensors" is damaged: the safetensors header runs past the end of the file', field: 'model' } },
  invalid_image: { status: 400, example: { message: 'not a PNG (bad signature)', field: 'body' } },
  not_websocket: { status: 400, example: { message: 'only the event stream, /v1/events, takes a WebSocket' } },
  bad_url: { status: 400, example: { message: 'the URL is malformed (a bad %-escape or an unsupported request target)' } },
  url_too_long: { status: 414, code: 'bad_url', example: { message: 'a path segment of the URL is too long' } },
  unauthorized: { status: 401, example: { message: 'missing token: send "Authorization: Bearer <token>" (see `kirie token`)' } },
  not_found: { status: 404, example: { message: 'no job with this id on the bridge', field: 'id' } },
  body_too_large: { status: 413, example: { message: 'Request body is too large', field: 'body' } },
  image_too_large: { status: 413, example: { message: 'the PNG declares 8192x8192 = 67108864 pixels; the limit is 16777216', field: 'body' } },
  unsupported_media_type: { status: 415, example: { message: 'Unsupported Media Type: application/xml', field: 'body' } },
  bad_host: { status: 421, example: { message: 'Host "evil.example" is not localhost, 127.0.0.1 or [::1]; start the bridge with --lan to serve other names' } },
  busy: { status: 429, example: { message: '2 image checks are running and 16 waiting; retry in a moment', field: 'body' } },
  queue_full: { status: 429, example: { message: 'the queue is full (32 jobs waiting); wait for one to finish or cancel one' } },
  models_folder_unreadable: { status: 503, example: { message: 'the models folder cannot be read (permission denied)' } },
  models_folder_stuck: { status: 503, example: { message: 'the models folder has not answered for 10 s (a disconnected network drive?); the bridge keeps serving: try again once it answers' } },
  shutting_down: { status: 503, example: { message: 'the bridge is shutting down' } },
} as const satisfies Record<string, { status: number; code?: string; example: Omit<ApiErrorBody['error'], 'code'> }>;

export type ApiRefusal = keyof typeof API_ERRORS;

/** The `error.code` a refusal answers with. */
export function refusalCode(refusal: ApiRefusal): string {
  const entry = API_ERRORS[refusal];
  return 'code' in entry ? entry.code : refusal;
}

/** Components of the document's schemas (openapi.ts builds them from the zod schemas). */
export type SchemaName = 'PoseDetectionRequest' | 'DetectedPose' | 'GenerateRequest' | 'HealthAnswer' | 'ModelList' | 'AdapterList' | 'StyleList' | 'ImageUploaded' | 'JobSubmitted' | 'JobInfo' | 'JobEvent' | 'OpenApiDocument' | 'PairingRequest' | 'PairingStarted' | 'PairingStatus' | 'PairingApproval' | 'PairingApproved';

export interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  /** The `:id` path parameter: what it names, and the schema it follows. */
  id?: { description: string; schema: 'ImageId' | 'JobId' | 'PairingId' };
  /** JSON body (a component schema) with named examples, or raw PNG bytes. */
  body?: { json: SchemaName; examples: Record<string, { summary: string; value: unknown }> } | { png: true };
  /** JSON answers take their examples from RESPONSE_EXAMPLES (and openapi.ts, for those it derives). */
  success: { status: 101 | 200 | 202; description: string } & ({ json: SchemaName } | { png: true } | { webSocket: true });
  /** Refusals this route can give besides the ones every route gives (bad_host; unauthorized unless public). */
  errors: ApiRefusal[];
}

/** Stands for an id PUT /v1/images returned (the SHA-256 of the PNG's bytes). */
export const EXAMPLE_IMAGE_ID = '4a5be2a1c2a6e03bd7e0e7b6f2ef5f1c0f2a1c6b0b9d3e8c7a2f4e6d5c3b2a19';
/** Stands for the id of an uploaded mask (white = repaint). */
export const EXAMPLE_MASK_ID = '7d1e4c2b9a8f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d';
const EXAMPLE_JOB_ID = '0b6e3f5e-8d5a-4d0e-9a57-3c2b1f4e6a7d';

/** A person standing, COCO-18 keypoints in pixels of a 512 × 512 canvas (x, y, confidence; 0,0,0 = not seen). */
const STANDING_PERSON = [
  256, 90, 1, 256, 140, 1, 216, 140, 1, 200, 210, 1, 196, 280, 1, 296, 140, 1, 312, 210, 1, 316, 280, 1, 230, 280, 1, 228, 380, 1, 226, 470, 1, 282, 280, 1,
  284, 380, 1, 286, 470, 1, 246, 80, 1, 266, 80, 1, 236, 86, 1, 276, 86, 1,
];

export const GENERATE_EXAMPLES = {
  txt2img: { summary: 'only the prompt: every other field has a default', value: { prompt: 'a red fox in the snow, paper-cut art' } },
  settings: {
    summary: 'size, sampler, seed and a batch',
    value: { prompt: 'a lighthouse at dusk, watercolour', negativePrompt: 'blurry, text', width: 768, height: 512, steps: 25, scheduler: 'euler_a', guidance: 7, seed: 1234, batchSize: 2 },
  },
  img2img: { summary: 'img2img: repaint an uploaded image', value: { prompt: 'the same scene in autumn', initImage: EXAMPLE_IMAGE_ID, strength: 0.6 } },
  inpaint: { summary: 'inpaint under a soft mask', value: { prompt: 'a bunch of tulips', initImage: EXAMPLE_IMAGE_ID, mask: EXAMPLE_MASK_ID, maskMode: 'soft', strength: 1 } },
  pose: {
    summary: 'ControlNet OpenPose from pose JSON',
    value: { prompt: 'a dancer on a stage', control: [{ model: 'control_v11p_sd15_openpose.safetensors', pose: { canvas_width: 512, canvas_height: 512, people: [{ pose_keypoints_2d: STANDING_PERSON }] }, scale: 1 }] },
  },
} satisfies Record<string, { summary: string; value: GenerateRequestInput }>;

/** Answers as the server gives them, by schema (JobInfo and StyleList ones are derived in openapi.ts). */
export const RESPONSE_EXAMPLES: Partial<Record<SchemaName, Record<string, unknown>>> = {
  HealthAnswer: {
    withToken: {
      ok: true, name: 'kirie', version: '0.1.0', apiVersion: 'v1', device: 'cuda', loadedModel: 'dreamshaper_8.safetensors', queue: { running: 1, queued: 2, capacity: 32 }, registry: 'ok',
    } satisfies Health,
    withoutToken: { ok: true, name: 'kirie', version: '0.1.0', apiVersion: 'v1' } satisfies PublicHealth,
  },
  ModelList: {
    models: {
      models: [{ id: 'dreamshaper_8.safetensors', name: 'dreamshaper_8', kind: 'checkpoint', file: 'dreamshaper_8.safetensors', sizeBytes: 2132626066, loaded: true } satisfies ModelInfo],
    },
  },
  ImageUploaded: { uploaded: { id: EXAMPLE_IMAGE_ID, width: 512, height: 512 } satisfies ImageUploaded },
  JobSubmitted: { submitted: { jobId: EXAMPLE_JOB_ID, position: 0 } satisfies JobSubmitted },
  PairingStarted: { waiting: { id: 'c0ffee'.repeat(10) + 'c0ff', code: 'K7M4QX', expiresInSeconds: PAIRING_TTL_SECONDS } satisfies PairingStarted },
  PairingStatus: { pending: { status: 'pending', expiresInSeconds: 271 } satisfies PairingStatus, approved: { status: 'approved', token: 'e3b0c442'.repeat(8) } satisfies PairingStatus },
  PairingApproved: { approved: { client: 'Photoshop' } satisfies PairingApproved },
  DetectedPose: { person: { canvas_width: 512, canvas_height: 512, people: [{ pose_keypoints_2d: STANDING_PERSON }] }, nobody: { canvas_width: 512, canvas_height: 512, people: [] } },
};

/** A job as GET /v1/jobs/:id reports it; `request` is filled in by openapi.ts (the example request, parsed). */
export type JobExample = Omit<JobInfo, 'request' | 'recipe'> & { recipe?: Omit<NonNullable<JobInfo['recipe']>, 'request'> };
export const JOB_EXAMPLES: Record<string, JobExample> = {
  running: { id: EXAMPLE_JOB_ID, status: 'running', createdAt: '2026-01-05T10:00:00.000Z', startedAt: '2026-01-05T10:00:00.120Z', progress: { phase: 'denoising', step: 7, total: 20 } },
  interrupted: {
    id: EXAMPLE_JOB_ID,
    status: 'interrupted',
    createdAt: '2026-01-05T10:00:00.000Z',
    startedAt: '2026-01-05T10:00:00.120Z',
    finishedAt: '2026-01-05T10:02:31.004Z',
    error: 'the bridge stopped (it was killed or crashed) before this job finished; submit it again',
  },
  done: {
    id: EXAMPLE_JOB_ID,
    status: 'done',
    createdAt: '2026-01-05T10:00:00.000Z',
    startedAt: '2026-01-05T10:00:00.120Z',
    finishedAt: '2026-01-05T10:00:04.870Z',
    images: [EXAMPLE_IMAGE_ID],
    recipe: { images: [EXAMPLE_IMAGE_ID], model: { id: 'dreamshaper_8.safetensors', name: 'dreamshaper_8' }, device: 'cuda', bridgeVersion: '0.1.0', createdAt: '2026-01-05T10:00:04.860Z', durationMs: 4740 },
  },
};

/** One example of each event the WebSocket sends (`done` gets its recipe from JOB_EXAMPLES.done). */
export const EVENT_EXAMPLES: Exclude<JobEvent, { type: 'done' }>[] = [
  { type: 'queued', jobId: EXAMPLE_JOB_ID, position: 0 },
  { type: 'started', jobId: EXAMPLE_JOB_ID },
  { type: 'progress', jobId: EXAMPLE_JOB_ID, phase: 'denoising', step: 7, total: 20, preview: 'iVBORw0KGgo=' },
  { type: 'error', jobId: EXAMPLE_JOB_ID, message: 'out of memory on the device' },
  { type: 'cancelled', jobId: EXAMPLE_JOB_ID },
];

/** A rule JSON Schema cannot state, the refusal it earns, and a request that breaks it (the tests send each one). */
export interface CrossFieldRule {
  rule: string;
  code: ApiRefusal;
  field: string;
  refused: Record<string, unknown>;
}

export function crossFieldRules(limits: Pick<Limits, 'pixels' | 'memoryBytes'>): CrossFieldRule[] {
  const rule = (code: ApiRefusal, field: string, text: string, request: Record<string, unknown>): CrossFieldRule => ({ rule: text, code, field, refused: { prompt: 'a red fox', ...request } });
  const image = EXAMPLE_IMAGE_ID;
  const controlNet = 'control_v11p_sd15_openpose.safetensors';
  const unit = { model: controlNet };
  const rules = [
    rule('invalid_request', 'mask', 'a mask needs an initImage to repaint', { mask: EXAMPLE_MASK_ID }),
    rule('invalid_request', 'maskMode', 'maskMode needs a mask', { initImage: image, maskMode: 'soft' }),
    rule('invalid_request', 'inpaint', 'inpaint options need a mask', { initImage: image, inpaint: {} }),
    rule('invalid_request', 'seed', `seed + batchSize - 1 must not exceed ${MAX_SEED}`, { seed: MAX_SEED, batchSize: 2 }),
    rule('invalid_request', 'control.0.image', 'a control unit needs exactly one of image or pose', { control: [unit] }),
    rule('invalid_request', 'control.0.end', "a control unit's end must be greater than its start", { control: [{ ...unit, image, start: 0.5, end: 0.5 }] }),
    rule('invalid_request', 'control.0.preprocessor', 'a pose is drawn as it is: its preprocessor must be none', { control: [{ ...unit, pose: { people: [] }, preprocessor: { type: 'canny' } }] }),
    rule('invalid_request', 'control.0.mannequin', 'a mannequin scene comes with the pose projected from it', { control: [{ ...unit, image, mannequin: { figures: [{ position: [0, 0.95, 0], rotations: {} }], camera: { position: [0, 1, 4.2], target: [0, 0.9, 0], fov: 40 } } }] }),
    rule('invalid_request', 'control.0.preprocessor.low', 'canny low threshold must not exceed high', { control: [{ ...unit, image, preprocessor: { type: 'canny', low: 200, high: 100 } }] }),
    rule('invalid_request', 'strength', 'img2img: strength × steps must leave at least one step to run', { initImage: image, steps: 2, strength: 0.01 }),
    rule('invalid_request', 'steps', "the scheduler, with its schedulerConfig, must be able to run the request's steps", { steps: 20, schedulerConfig: { num_train_timesteps: 10 } }),
    rule('invalid_request', 'schedulerConfig.beta_end', 'schedulerConfig.beta_end must not be below beta_start', { schedulerConfig: { beta_start: 0.02, beta_end: 0.01 } }),
    rule('invalid_request', 'schedulerConfig.sigma_max', 'schedulerConfig.sigma_max must be greater than sigma_min', { scheduler: 'euler', schedulerConfig: { sigma_min: 2, sigma_max: 1 } }),
    rule('invalid_request', 'emphasis', 'emphasis is an A1111 setting: it needs promptSyntax "a1111"', { emphasis: 'No norm' }),
    rule('invalid_request', 'padConds', 'padConds is an A1111 setting: it needs promptSyntax "a1111"', { promptSyntax: 'comfyui', padConds: true }),
    rule('invalid_request', 'prompt', 'with promptSyntax "a1111", AND (composable diffusion) is refused', { promptSyntax: 'a1111', prompt: 'a red fox AND a blue bird' }),
    rule('invalid_request', 'prompt', 'with promptSyntax "a1111", a (text:weight) weight must be a number', { promptSyntax: 'a1111', prompt: '(a red fox:1.2.3)' }),
    rule('wrong_model_kind', 'model', 'model names a checkpoint (or inpainting checkpoint, or ONNX folder)', { model: controlNet }),
    rule('wrong_model_kind', 'control.0.model', "a control unit's model names a ControlNet", { control: [{ model: 'default', image }] }),
    rule('size_mismatch', 'initImage', 'initImage and mask are the request\'s width × height (with `inpaint` options: each other\'s size)', { initImage: image, width: 768, height: 512 }),
    rule('unknown_image', 'initImage', 'an image a request names must have been uploaded (PUT /v1/images) first', { initImage: 'f'.repeat(64) }),
    rule('unknown_model', 'model', 'model and control models must be in the models folder', { model: 'not-in-the-models-folder.safetensors' }),
    rule('unknown_lora', 'loras.0.name', "a LoRA the request names (in loras or as a <lora:name:w> tag in the prompt) must be in the models folder's loras/", { loras: [{ name: 'not-in-the-loras-folder' }] }),
  ];
  // width × height is bounded together; the rule can only be broken when the bound is below 4096².
  const side = 4096;
  const height = Math.ceil((limits.pixels + 1) / side / 8) * 8;
  if (height <= side) rules.push(rule('limit_exceeded', 'width', `width × height must not exceed ${limits.pixels} pixels`, { width: side, height }));
  const tooBig = smallestSquareOverBudget(limits);
  if (tooBig) {
    rules.push(
      rule(
        'limit_exceeded',
        'width',
        `the job's estimated peak memory (model weights plus generation, from width, height, batchSize, guidance, control units and init image) must fit this bridge's budget, ${limits.memoryBytes} bytes; ` +
          'the refusal names batchSize when fewer images would fit, model when the weights alone do not',
        { width: tooBig, height: tooBig },
      ),
    );
  }
  return rules;
}

/** The smallest square a txt2img job (batch 1, guidance on, no weights counted) cannot fit the budget at, within the pixel limit. */
function smallestSquareOverBudget({ pixels, memoryBytes }: Pick<Limits, 'pixels' | 'memoryBytes'>): number | null {
  for (let side = 64; side <= 4096 && side * side <= pixels; side += 8) {
    const { peakBytes } = estimateJobMemory({ width: side, height: side, batchSize: 1, cfg: true, controlUnits: 0, encodes: false, weightsBytes: 0, canvasPixels: 0 });
    if (peakBytes > memoryBytes) return side;
  }
  return null;
}

/** Keyed by method and the route's URL as fastify registers it. */
export const OPERATIONS: Record<string, OperationSpec> = {
  'GET /v1/health': {
    operationId: 'getHealth',
    summary: 'the bridge is up: its version; with the token also device, loaded model, queue and models folder state',
    description: 'Public, so a client can find the bridge before it has the token; what the bridge is doing only with it. A token that is sent must be right (else 401).',
    success: { status: 200, description: 'the bridge is up (PublicHealth without the token, Health with it)', json: 'HealthAnswer' },
    errors: ['unauthorized'],
  },
  'GET /v1/openapi.json': {
    operationId: 'getOpenApi',
    summary: 'this document',
    success: { status: 200, description: 'the OpenAPI 3.1 document, built from the definitions the server enforces', json: 'OpenApiDocument' },
    errors: [],
  },
  'GET /v1/models': {
    operationId: 'listModels',
    summary: 'models in the models folder',
    success: { status: 200, description: 'checkpoints first, then inpainting, ControlNet, LoRA and ONNX folders', json: 'ModelList' },
    errors: ['models_folder_unreadable', 'models_folder_stuck'],
  },
  'GET /v1/adapters': {
    operationId: 'listAdapters',
    summary: 'LoRAs and textual-inversion embeddings in the models folder (loras/, Lora/, LyCORIS/, embeddings/)',
    description: 'Only the adapter subfolders are read, not the checkpoints; a folder that stops answering holds the answer until the read timeout, like GET /v1/models.',
    success: { status: 200, description: 'LoRAs, then embeddings, each with its family, trigger words and header metadata (untrusted text)', json: 'AdapterList' },
    errors: ['models_folder_unreadable'],
  },
  'GET /v1/styles': {
    operationId: 'listStyles',
    summary: 'style presets (prompt templates and settings clients apply before sending a request), and each LoRA in the models folder as a style',
    success: { status: 200, description: 'every preset, then one style per LoRA (its trigger words, its `loras` entry at the preferred weight)', json: 'StyleList' },
    errors: ['models_folder_unreadable'],
  },
  'PUT /v1/images': {
    operationId: 'putImage',
    summary: 'upload a PNG; its id is the SHA-256 of its bytes',
    description: 'Send the PNG bytes as the body, as image/png or application/octet-stream. The same bytes always get the same id, so uploading twice costs nothing.',
    body: { png: true },
    success: { status: 200, description: 'stored', json: 'ImageUploaded' },
    errors: ['invalid_image', 'body_too_large', 'image_too_large', 'unsupported_media_type', 'busy'],
  },
  'GET /v1/images/:id': {
    operationId: 'getImage',
    summary: 'a stored PNG (an upload or a result)',
    id: { description: 'image id', schema: 'ImageId' },
    success: { status: 200, description: 'the PNG bytes', png: true },
    errors: ['bad_url', 'url_too_long', 'not_found'],
  },
  'POST /v1/jobs': {
    operationId: 'submitJob',
    summary: 'queue a generation',
    description: 'Checks everything that can be known before the job runs (fields, limits, models, uploaded images) and answers 4xx naming the field; the job then reports through GET /v1/jobs/{id} and the event stream.',
    body: { json: 'GenerateRequest', examples: GENERATE_EXAMPLES },
    success: { status: 202, description: 'queued', json: 'JobSubmitted' },
    errors: ['invalid_json', 'too_deep', 'invalid_request', 'limit_exceeded', 'wrong_model_kind', 'size_mismatch', 'unknown_image', 'unknown_model', 'unknown_lora', 'no_model', 'unreadable_model', 'unsupported_model', 'damaged_model', 'body_too_large', 'unsupported_media_type', 'queue_full', 'models_folder_unreadable', 'models_folder_stuck', 'shutting_down'],
  },
  'POST /v1/poses/detect': {
    operationId: 'detectPose',
    summary: 'the people in an uploaded photo as OpenPose JSON, to place as an editable skeleton before a pose fill',
    description: 'Upload the photo with PUT /v1/images first. MoveNet runs on the CPU, one photo at a time; keypoints are in the photo\'s pixels (COCO-18, unseen points 0, 0, 0); `people` is empty when nobody was found.',
    body: { json: 'PoseDetectionRequest', examples: { photo: { summary: 'an uploaded photo', value: { image: EXAMPLE_IMAGE_ID } } } },
    success: { status: 200, description: 'the people found', json: 'DetectedPose' },
    errors: ['invalid_json', 'invalid_request', 'unknown_image'],
  },
  'GET /v1/jobs/:id': {
    operationId: 'getJob',
    summary: 'a job: its state, progress, and when done its result image ids and recipe',
    id: { description: 'job id', schema: 'JobId' },
    success: { status: 200, description: 'the job', json: 'JobInfo' },
    errors: ['bad_url', 'url_too_long', 'not_found'],
  },
  'DELETE /v1/jobs/:id': {
    operationId: 'cancelJob',
    summary: 'cancel a queued or running job (a finished one is returned unchanged)',
    id: { description: 'job id', schema: 'JobId' },
    success: { status: 200, description: 'the job after cancelling', json: 'JobInfo' },
    errors: ['bad_url', 'url_too_long', 'not_found'],
  },
  'POST /v1/pair': {
    operationId: 'startPairing',
    summary: 'ask for the token without having it: answers a pairing id to poll and a short code for the user',
    description:
      'Public. The client shows `code`; the user types it where only the token holder can act (the bridge terminal, `kirie pair CODE`, or POST /v1/pair/approve); ' +
      `GET /v1/pair/{id} then answers the token, once. Codes expire after ${PAIRING_TTL_SECONDS} s; at most ${MAX_PENDING_PAIRINGS} requests wait at once (then 429).`,
    body: { json: 'PairingRequest', examples: { photoshop: { summary: 'the Photoshop panel asks', value: { client: 'Photoshop' } satisfies PairingRequest } } },
    success: { status: 200, description: 'waiting for the user to approve the code', json: 'PairingStarted' },
    errors: ['unauthorized', 'invalid_request', 'busy'],
  },
  'GET /v1/pair/:id': {
    operationId: 'getPairing',
    summary: 'poll a pairing request: pending, or approved with the token (given once, then the request is gone)',
    description: 'Public: the id is unguessable and known only to the asker. 404 once it expired or its token was given.',
    id: { description: 'pairing id, as POST /v1/pair returned it', schema: 'PairingId' },
    success: { status: 200, description: 'pending, or approved with the token', json: 'PairingStatus' },
    errors: ['unauthorized', 'bad_url', 'url_too_long', 'not_found'],
  },
  'POST /v1/pair/approve': {
    operationId: 'approvePairing',
    summary: 'approve the waiting pairing request with this code (as the user typed it from the panel)',
    body: { json: 'PairingApproval', examples: { typed: { summary: 'the code the panel shows', value: { code: 'K7M4QX' } satisfies PairingApproval } } },
    success: { status: 200, description: 'approved: the asker receives the token at its next poll', json: 'PairingApproved' },
    errors: ['invalid_request', 'not_found'],
  },
  'GET /v1/events': {
    operationId: 'events',
    summary: 'WebSocket of job events',
    description:
      'Upgrade to a WebSocket offering the subprotocol `kirie.v1`; the bridge then sends one JSON JobEvent per message (see `x-websocket`) for every job: ' +
      'queued, started, progress (with a small PNG preview, dropped for a client that reads slowly), done (image ids and recipe), error, cancelled. ' +
      'The stream only sends: a message from the client closes it with 1008.',
    success: { status: 101, description: 'switching to the WebSocket protocol', webSocket: true },
    errors: [],
  },
};
