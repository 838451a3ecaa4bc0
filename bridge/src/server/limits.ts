// What one request may ask of the bridge. Every limit is checked before any work and refused with a 4xx
// that names the field, so a buggy plugin or a hostile page can neither exhaust memory nor wedge the GPU.
import { totalmem } from 'node:os';
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
  /** Nesting depth of a JSON body (objects and arrays); a request needs 7 (control → pose → people → keypoints). */
  jsonDepth: number;
  /** Bytes a job may peak at, weights included (`kirie serve --memory`); see memory-estimate.ts. */
  memoryBytes: number;
  /** PNG uploads validated at once (each inflates up to pixels × 4 bytes). */
  pngChecks: number;
  /** PNG uploads waiting for a check before new ones get 429. */
  pngCheckQueue: number;
}

/**
 * Three quarters of the machine's memory: what Photoshop or Figma and the system keep needs the rest.
 * The `--memory` default of `kirie serve` and the job budget when none is given.
 */
export function defaultMemoryBytes(): number {
  return Math.floor(totalmem() * 0.75);
}

export const DEFAULT_LIMITS: Limits = {
  imageBytes: 64 * 1024 * 1024,
  jsonBytes: 1024 * 1024,
  pixels: 4096 * 4096,
  promptChars: 4000,
  steps: 150,
  batchSize: 8,
  queue: 32,
  jsonDepth: 32,
  memoryBytes: defaultMemoryBytes(),
  // Two checks keep a core for the event loop on a 4-core laptop; sixteen 65 KB bombs then wait their turn.
  pngChecks: 2,
  pngCheckQueue: 16,
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

/**
 * Refuses JSON text that nests arrays and objects deeper than `max`, in one pass over the text with no
 * recursion, before anything parses it: a megabyte of "[[[[…" costs one scan, not a parse, a schema walk
 * or a JSON.stringify that overflows the stack later.
 */
export function checkJsonDepth(text: string, max: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character, a quote included
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) throw new KirieApiError(400, 'too_deep', `the JSON body nests arrays and objects deeper than ${max} levels (at character ${i})`, 'body');
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}
