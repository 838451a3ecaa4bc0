// What one request may ask of the bridge. Every limit is checked before any work and refused with a 4xx
// that names the field, so a buggy plugin or a hostile page can neither exhaust memory nor wedge the GPU.
import type { GenerateRequest } from '@kirie/core/request/schema';
import { KirieApiError } from '@kirie/core/client/protocol';

export interface Limits {
  /** Bytes of a PNG upload. */
  imageBytes: number;
  /** Bytes of a JSON body. */
  jsonBytes: number;
  /** width × height of an uploaded image or a requested output. */
  pixels: number;
  promptChars: number;
  steps: number;
  batchSize: number;
  /** Jobs waiting (not counting the running one) before new ones get 429. */
  queue: number;
}

export const DEFAULT_LIMITS: Limits = {
  imageBytes: 64 * 1024 * 1024,
  jsonBytes: 1024 * 1024,
  pixels: 4096 * 4096,
  promptChars: 4000,
  steps: 150,
  batchSize: 8,
  queue: 32,
};

/** Limits the schema leaves open (it allows what the pipeline can do; the server allows what it can afford). */
export function checkRequestLimits(request: GenerateRequest, limits: Limits): void {
  const tooLong = (field: 'prompt' | 'negativePrompt') => {
    if (request[field].length > limits.promptChars) throw new KirieApiError(400, 'limit_exceeded', `${field} is ${request[field].length} characters; the limit is ${limits.promptChars}`, field);
  };
  tooLong('prompt');
  tooLong('negativePrompt');
  if (request.steps > limits.steps) throw new KirieApiError(400, 'limit_exceeded', `steps is ${request.steps}; the limit is ${limits.steps}`, 'steps');
  if (request.batchSize > limits.batchSize) throw new KirieApiError(400, 'limit_exceeded', `batchSize is ${request.batchSize}; the limit is ${limits.batchSize}`, 'batchSize');
  if (request.width * request.height > limits.pixels) {
    throw new KirieApiError(400, 'limit_exceeded', `${request.width}x${request.height} is ${request.width * request.height} pixels; the limit is ${limits.pixels}`, 'width');
  }
}
