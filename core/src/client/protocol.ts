// The bridge protocol, defined once: the server implements these shapes and every client (playground,
// Photoshop, Figma) consumes them through KirieClient. HTTP + one WebSocket, versioned under /v1.
import type { GenerateRequest, GenerateRequestInput } from '../request/schema.js';
import type { StylePreset } from '../styles/presets.js';

export const API_PREFIX = '/v1';

/**
 * Browsers cannot set headers on a WebSocket, so the token travels as a subprotocol: the client offers
 * [WS_PROTOCOL, WS_TOKEN_PREFIX + token] and the server answers with WS_PROTOCOL. `?token=` also works on
 * that handshake; every HTTP request carries the token as `Authorization: Bearer <token>` only.
 */
export const WS_PROTOCOL = 'kirie.v1';
export const WS_TOKEN_PREFIX = 'kirie.token.';

/** `interrupted`: the bridge stopped (crashed, was killed) before the job finished; `error` says so. */
export type JobStatus = 'queued' | 'running' | 'done' | 'error' | 'cancelled' | 'interrupted';

/** What GET /v1/health tells a caller without the token: enough to find the bridge, nothing about its use. */
export interface PublicHealth {
  ok: true;
  name: 'kirie';
  version: string;
  apiVersion: 'v1';
}

/** GET /v1/health with the token (KirieClient always sends it; a wrong one is a 401). */
export interface Health extends PublicHealth {
  /** Execution provider in use, e.g. "cpu", "cuda". */
  device: string;
  /** Why a requested device was not used (e.g. CUDA missing), when it fell back. */
  deviceNote?: string;
  /** Id of the model whose sessions are loaded, if any. */
  loadedModel: string | null;
  queue: { running: number; queued: number; capacity: number };
  /** The models folder: `slow` while a read takes seconds, `stuck` once one has not answered in its time limit. */
  registry: RegistryHealth;
}

export type RegistryHealth = 'ok' | 'slow' | 'stuck';

export type ModelKind = 'checkpoint' | 'inpaint' | 'controlnet' | 'lora' | 'onnx';

export interface ModelInfo {
  id: string;
  name: string;
  kind: ModelKind;
  /** Path relative to the models folder. */
  file: string;
  sizeBytes: number;
  loaded: boolean;
  /** Checkpoints: the model family (SD 1.x or SDXL), which sets native sizes and conditioning. Absent for ONNX folders, ControlNets, LoRAs. */
  family?: 'sd1' | 'sdxl';
  /** Set for the bundled random-weight model: a wiring test, not art. */
  note?: string;
}

/** A LoRA or textual-inversion embedding in the models folder (GET /v1/adapters). Header text is untrusted: show it as text. */
export interface AdapterInfo {
  /** What requests and prompt tags call it (`<lora:name:w>`, `loras[].name`, an embedding's name in the prompt). */
  name: string;
  kind: 'lora' | 'embedding';
  /** Path relative to the models folder. */
  file: string;
  sizeBytes: number;
  /** The model family it was made for, from its key names and shapes. */
  family: 'sd1' | 'sd2' | 'sdxl' | 'unknown';
  /** Words that call up the style: A1111's "activation text", modelspec.trigger_phrase, or the most frequent training tags. */
  triggerWords: string[];
  /** A1111's "preferred weight" for it, when its sidecar gives one. */
  preferredWeight?: number;
  /** kohya `ss_*` and `modelspec.*` header entries, each cut to a few hundred characters. */
  metadata: Record<string, string>;
  /** Why the file cannot be used (e.g. a damaged header). */
  problem?: string;
}

export type StyleInfo = StylePreset;

export interface ImageUploaded {
  id: string;
  width: number;
  height: number;
}

export interface JobSubmitted {
  jobId: string;
  position: number;
}

/** What `done` and GET /v1/jobs/:id report about how the images were made (enough to remake them). */
export interface Recipe {
  request: GenerateRequest;
  images: string[];
  /** The checkpoint, and its family (SD 1.x or SDXL) when Kirie built it from a single file. */
  model: { id: string; name: string; family?: 'sd1' | 'sdxl' };
  device: string;
  bridgeVersion: string;
  createdAt: string;
  durationMs: number;
}

export interface JobInfo {
  id: string;
  status: JobStatus;
  request: GenerateRequest;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: { phase: ProgressPhase; step: number; total: number };
  /** Result image ids (when done). */
  images?: string[];
  recipe?: Recipe;
  error?: string;
}

export type ProgressPhase = 'loading' | 'denoising' | 'decoding';

export type JobEvent =
  | { type: 'queued'; jobId: string; position: number }
  | { type: 'started'; jobId: string }
  | { type: 'progress'; jobId: string; phase: ProgressPhase; step: number; total: number; /** small base64 PNG */ preview?: string }
  | { type: 'done'; jobId: string; images: string[]; recipe: Recipe }
  | { type: 'error'; jobId: string; message: string }
  | { type: 'cancelled'; jobId: string };

export type JobEventType = JobEvent['type'];

export const TERMINAL_EVENTS: readonly JobEventType[] = ['done', 'error', 'cancelled'];

/** Body of every 4xx/5xx answer. `field` names the offending request field when there is one. */
export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

/**
 * A refusal in the protocol's terms. The bridge throws it and answers with its body(); the client
 * rebuilds it from that body (status 0 when the bridge could not be reached at all).
 */
export class KirieApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'KirieApiError';
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}

export type { GenerateRequest, GenerateRequestInput };
