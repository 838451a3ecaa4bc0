// Turning untrusted input into a GenerateRequest, with one error per offending field.
import { GenerateRequest } from './schema.js';

export interface FieldError {
  /** Dotted path of the field, e.g. "control.0.end"; "" for the request itself. */
  field: string;
  message: string;
}

export class RequestValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid generate request: ${errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')}`);
    this.name = 'RequestValidationError';
  }
}

export type ValidationResult = { ok: true; request: GenerateRequest } | { ok: false; errors: FieldError[] };

export function validateGenerateRequest(input: unknown): ValidationResult {
  const parsed = GenerateRequest.safeParse(input);
  if (parsed.success) return { ok: true, request: parsed.data };
  // An unknown key is reported at its own path, so the answer names the field to remove.
  const errors = parsed.error.issues.flatMap((i): FieldError[] =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ field: [...i.path, key].map(String).join('.'), message: `unknown field "${key}"` }))
      : [{ field: i.path.map(String).join('.'), message: i.message }],
  );
  return { ok: false, errors };
}

/** Parses and fills defaults; throws RequestValidationError listing every bad field. */
export function parseGenerateRequest(input: unknown): GenerateRequest {
  const result = validateGenerateRequest(input);
  if (!result.ok) throw new RequestValidationError(result.errors);
  return result.request;
}

/** Seed of batch image `index`: each image is reproducible alone as a batch of one with this seed. */
export function imageSeed(request: Pick<GenerateRequest, 'seed'>, index: number): number {
  if (request.seed < 0) throw new Error('seed -1 must be resolved to a concrete seed before generating');
  return request.seed + index;
}

/** The request with seed -1 replaced by a concrete random seed (what a job records and its recipe shows). */
export function withResolvedSeed(request: GenerateRequest, random: () => number = Math.random): GenerateRequest {
  if (request.seed >= 0) return request;
  return { ...request, seed: Math.floor(random() * 2 ** 32) };
}
