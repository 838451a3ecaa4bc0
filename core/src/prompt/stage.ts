// Prompt → the UNet's context at each model call, for a prompt written in A1111's or ComfyUI's syntax:
// extra-network tags out, prompt editing resolved per call (A1111), chunks beyond 75 tokens, the tool's
// weighting, then positive and negative brought to one length. The text encoder itself stays behind
// `encode` (the model family's encoder), so this stage knows nothing of sessions.
import { parseA1111Attention, splitA1111And } from './attention.js';
import { a1111Chunks, comfyChunks, type A1111Emphasis, type TextIds } from './chunks.js';
import { stripExtraNetworks } from './extra-networks.js';
import { promptSchedule } from './schedules.js';
import { a1111Encode, CHUNK_LENGTH, comfyEncode, emptyChunk, type EncodeChunk } from './weighting.js';

/** Which tool's syntax a prompt is written in; 'plain' = diffusers (77 tokens, brackets are text). */
export const PROMPT_SYNTAXES = ['plain', 'a1111', 'comfyui'] as const;
export type PromptSyntax = (typeof PROMPT_SYNTAXES)[number];

export interface PromptStyle {
  syntax: 'a1111' | 'comfyui';
  /** A1111 "Emphasis" (default Original). */
  emphasis?: A1111Emphasis;
  /**
   * A1111 "Pad prompt/negative prompt" (infotext "Pad conds: True"): the shorter of prompt and negative gets the
   * empty prompt's conditioning appended. Off (A1111's default, and ComfyUI): the shorter is repeated, which
   * leaves cross-attention what separate UNet calls would give.
   */
  padConds?: boolean;
}

/** A prompt's conditioning over the run: [end_at_call, [77·k, D], the text encoded] in A1111's reconstruct_cond_batch order. */
export type ScheduledContext = [endAt: number, context: Float32Array, text: string][];

/** The ids view prompt chunking needs, from a CLIP tokenizer or one that knows embeddings (`textIds()`). */
export function chunkingIds(tokenizer: object): TextIds {
  const t = tokenizer as Partial<TextIds> & { textIds?(): TextIds };
  if (typeof t.textIds === 'function') return t.textIds();
  const { bosId, eosId, bpeIds } = t;
  if (typeof bpeIds !== 'function' || bosId === undefined || eosId === undefined) throw new Error('this tokenizer cannot split prompts into chunks: A1111 and ComfyUI prompt syntax need the CLIP tokenizer');
  return { bosId, eosId, padId: t.padId ?? eosId, bpeIds: (text) => bpeIds.call(tokenizer, text) };
}

/** A1111 AND (composable diffusion) is not supported: the reason, or undefined when the prompt has no AND. */
export function unsupportedAnd(prompt: string): string | undefined {
  const parts = splitA1111And(stripExtraNetworks(prompt).prompt);
  return parts.length > 1 ? `AND (A1111 composable diffusion) is not supported: the prompt has ${parts.length} AND parts; write them as one prompt, or use ComfyUI syntax where AND is plain text` : undefined;
}

/** A weight A1111 cannot read (`(word:1.2.3)` fails its generation), or undefined. */
export function a1111WeightProblem(prompt: string): string | undefined {
  try {
    parseA1111Attention(prompt);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * One prompt as the style reads it, for a run of `steps` steps. A1111 reads extra-network tags and AND only in
 * the prompt (processing.py parses only it); in the negative prompt they are text, prompt editing works in both.
 */
export async function scheduledContext(prompt: string, role: 'prompt' | 'negative', style: PromptStyle, steps: number, t: TextIds, encode: EncodeChunk): Promise<ScheduledContext> {
  if (style.syntax === 'comfyui') return [[Number.POSITIVE_INFINITY, await comfyEncode(comfyChunks(prompt, t), encode, t), prompt]];
  const emphasis = style.emphasis ?? 'Original';
  if (role === 'negative') return a1111ScheduledContext(prompt, steps, emphasis, t, encode);
  const and = unsupportedAnd(prompt);
  if (and) throw new Error(and);
  return a1111ScheduledContext(stripExtraNetworks(prompt).prompt, steps, emphasis, t, encode);
}

/** One A1111 sub-prompt (tags stripped, no AND): its schedule's texts encoded together, as get_learned_conditioning does. */
export async function a1111ScheduledContext(text: string, steps: number, emphasis: A1111Emphasis, t: TextIds, encode: EncodeChunk): Promise<ScheduledContext> {
  const schedule = promptSchedule(text, steps);
  // One batch: "Original" takes its mean over all of the schedule's texts.
  const encoded = await a1111Encode(schedule.map(([, s]) => a1111Chunks(s, t, emphasis).chunks), encode, emphasis, t);
  return schedule.map(([end, s], i) => [end, encoded[i]!, s]);
}

/** The context for model call `call` (counted from 0): A1111 takes the first entry with call ≤ end_at_step. */
export function contextAt(s: ScheduledContext, call: number): Float32Array {
  return entryAt(s, call)[1];
}

export function entryAt(s: ScheduledContext, call: number): ScheduledContext[number] {
  return s.find(([end]) => call <= end) ?? s[s.length - 1]!;
}

/** The first chunk's ids of a text as the style cuts it (where SDXL's pooled embedding is taken). */
export function firstChunk(text: string, style: PromptStyle, t: TextIds): number[] {
  return (style.syntax === 'comfyui' ? comfyChunks(text, t) : a1111Chunks(text, t, style.emphasis ?? 'Original').chunks)[0]!.tokens;
}

function tokensOf(context: Float32Array, width: number): number {
  return context.length / width;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `context` repeated to `tokens` tokens (ComfyUI's lcm tiling) or with empty-prompt chunks appended (A1111 pad conds). */
function lengthen(context: Float32Array, tokens: number, width: number, empty: Float32Array | undefined): Float32Array {
  const have = tokensOf(context, width);
  if (have === tokens) return context;
  const out = new Float32Array(tokens * width);
  out.set(context);
  for (let at = have; at < tokens; at += empty ? CHUNK_LENGTH : have) out.set(empty ?? context, at * width);
  return out;
}

/**
 * Negative and positive brought to one token count so one UNet batch takes both: A1111 "Pad conds" appends
 * the empty prompt's conditioning; otherwise both repeat to the least common multiple of their lengths.
 */
export function matchLengths(negative: Float32Array, positive: Float32Array, width: number, emptyPrompt?: Float32Array): [Float32Array, Float32Array] {
  const [n, p] = [tokensOf(negative, width), tokensOf(positive, width)];
  const tokens = emptyPrompt ? Math.max(n, p) : (n * p) / gcd(n, p);
  return [lengthen(negative, tokens, width, emptyPrompt), lengthen(positive, tokens, width, emptyPrompt)];
}

/** The empty prompt's conditioning, as A1111's pad conds use it. */
export function emptyPromptContext(t: TextIds, encode: EncodeChunk): Promise<Float32Array> {
  return encode(emptyChunk(t).tokens);
}
