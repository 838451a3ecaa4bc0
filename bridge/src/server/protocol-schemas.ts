// The bridge's answers as zod schemas, for the OpenAPI document (openapi.ts) and its tests. The types
// clients use stay in core/src/client/protocol.ts (core's client has no runtime dependencies); the checks at
// the bottom make tsc fail the moment a schema and its type disagree, so neither can change alone.
import { z } from 'zod';
import type { AdapterInfo, ApiErrorBody, Health, PublicHealth, ImageUploaded, JobEvent, JobInfo, JobSubmitted, ModelInfo, Recipe, StyleInfo } from '@kirie/core/client/protocol';
import { GenerateRequest, ImageId } from '@kirie/core/request/schema';

const isoTime = z.iso.datetime();

export const PublicHealthBody = z.object({ ok: z.literal(true), name: z.literal('kirie'), version: z.string(), apiVersion: z.literal('v1') });

export const HealthBody = PublicHealthBody.extend({
  device: z.string().describe('Execution provider in use, e.g. "cpu", "cuda".'),
  deviceNote: z.string().optional().describe('Why a requested device was not used (e.g. CUDA missing), when it fell back.'),
  loadedModel: z.string().nullable().describe('Id of the model whose sessions are loaded, if any.'),
  queue: z.object({ running: z.int().min(0), queued: z.int().min(0), capacity: z.int().min(0) }),
  registry: z.enum(['ok', 'slow', 'stuck']).describe('The models folder: `slow` while a read takes seconds, `stuck` once one has not answered in its time limit.'),
});

/** GET /v1/health: the public part without the token, all of it with. */
export const HealthAnswer = z.union([HealthBody, PublicHealthBody]);

export const ModelInfoBody = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['checkpoint', 'inpaint', 'controlnet', 'lora', 'onnx']),
  file: z.string().describe('Path relative to the models folder.'),
  sizeBytes: z.int().min(0),
  loaded: z.boolean(),
  family: z
    .enum(['sd1', 'sdxl'])
    .optional()
    .describe('Checkpoints: the model family (SD 1.x or SDXL), which sets native sizes and conditioning. Absent for ONNX folders, ControlNets, LoRAs.'),
  note: z.string().optional().describe('Set for the bundled random-weight model: a wiring test, not art.'),
});
export const ModelList = z.object({ models: z.array(ModelInfoBody) });

export const AdapterInfoBody = z.object({
  name: z.string().describe('What requests and prompt tags call it: `loras[].name`, `<lora:name:w>`, an embedding\'s name in the prompt.'),
  kind: z.enum(['lora', 'embedding']),
  file: z.string().describe('Path relative to the models folder.'),
  sizeBytes: z.int().min(0),
  family: z.enum(['sd1', 'sd2', 'sdxl', 'unknown']).describe('The model family it was made for, from its key names and shapes.'),
  triggerWords: z.array(z.string()).describe('A1111 "activation text", modelspec.trigger_phrase, or the most frequent training tags. Untrusted text.'),
  preferredWeight: z.number().optional().describe('A1111 "preferred weight" from the file\'s sidecar JSON.'),
  metadata: z.record(z.string(), z.string()).describe('kohya ss_* and modelspec.* header entries, each cut to a few hundred characters. Untrusted text: never render as HTML.'),
  problem: z.string().optional().describe('Why the file cannot be used (e.g. a damaged header).'),
});
export const AdapterList = z.object({ adapters: z.array(AdapterInfoBody) });

const StyleSettingsBody = z.object({ steps: z.int(), guidance: z.number(), scheduler: z.string(), strength: z.number(), width: z.int(), height: z.int() });

export const StyleBody = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  promptTemplate: z.string().describe('`{prompt}` is replaced by the user\'s prompt.'),
  negativePrompt: z.string(),
  settings: z
    .object({ sd1: StyleSettingsBody, sdxl: StyleSettingsBody })
    .describe("What the style recommends for each model family (a model's `family` in GET /v1/models; SD 1.x's for a model with none)."),
  loras: z.array(z.object({ name: z.string(), weight: z.number(), textEncoderWeight: z.number().optional() })).optional().describe('LoRAs the style applies: send them as the request\'s `loras`.'),
});
export const StyleList = z.object({ styles: z.array(StyleBody) });

export const ImageUploadedBody = z.object({
  id: ImageId.describe('SHA-256 of the PNG bytes, in hex: the id requests name the image by.'),
  width: z.int().min(1),
  height: z.int().min(1),
});

export const JobSubmittedBody = z.object({
  jobId: z.string(),
  position: z.int().min(0).describe('Jobs ahead of this one, the running one included.'),
});

export const RecipeBody = z.object({
  request: GenerateRequest.describe('The request as run: every default filled in and the seed resolved.'),
  images: z.array(ImageId),
  model: z.object({
    id: z.string(),
    name: z.string(),
    family: z.enum(['sd1', 'sdxl']).optional().describe('The model family (SD 1.x or SDXL) when Kirie built the checkpoint from a single file.'),
  }),
  device: z.string(),
  bridgeVersion: z.string(),
  createdAt: isoTime,
  durationMs: z.number().min(0),
});

const ProgressPhase = z.enum(['loading', 'denoising', 'decoding']);

export const JobInfoBody = z.object({
  id: z.string(),
  status: z.enum(['queued', 'running', 'done', 'error', 'cancelled', 'interrupted']).describe('interrupted: the bridge stopped before the job finished'),
  request: GenerateRequest,
  createdAt: isoTime,
  startedAt: isoTime.optional(),
  finishedAt: isoTime.optional(),
  progress: z.object({ phase: ProgressPhase, step: z.int().min(0), total: z.int().min(0) }).optional(),
  images: z.array(ImageId).optional().describe('Result image ids (when done).'),
  recipe: RecipeBody.optional(),
  error: z.string().optional(),
});

export const JobEventBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('queued'), jobId: z.string(), position: z.int().min(0) }),
  z.object({ type: z.literal('started'), jobId: z.string() }),
  z.object({
    type: z.literal('progress'),
    jobId: z.string(),
    phase: ProgressPhase,
    step: z.int().min(0),
    total: z.int().min(0),
    preview: z.base64().optional().describe('Small PNG, base64; dropped for a client that reads slowly.'),
  }),
  z.object({ type: z.literal('done'), jobId: z.string(), images: z.array(ImageId), recipe: RecipeBody }),
  z.object({ type: z.literal('error'), jobId: z.string(), message: z.string() }),
  z.object({ type: z.literal('cancelled'), jobId: z.string() }),
]);

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional().describe('The offending request field, dotted (e.g. "control.0.end"), when there is one.'),
  }),
});

// Compile-time agreement between each schema and the protocol type it describes.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Agree<Schema extends z.ZodType, Type> = Same<z.output<Schema>, Type>;
type Holds<T extends true[]> = T;
export type SchemasAgreeWithProtocol = Holds<
  [
    Agree<typeof PublicHealthBody, PublicHealth>,
    Agree<typeof HealthBody, Health>,
    Agree<typeof ModelInfoBody, ModelInfo>,
    Agree<typeof StyleBody, StyleInfo>,
    Agree<typeof AdapterInfoBody, AdapterInfo>,
    Agree<typeof ImageUploadedBody, ImageUploaded>,
    Agree<typeof JobSubmittedBody, JobSubmitted>,
    Agree<typeof RecipeBody, Recipe>,
    Agree<typeof JobInfoBody, JobInfo>,
    Agree<typeof JobEventBody, JobEvent>,
    Agree<typeof ErrorBody, ApiErrorBody>,
  ]
>;
