// Prompt → what the UNet is conditioned on, as the model's family describes it (core/src/models/family.ts):
// one CLIP encoder's hidden states (SD1.x), or two encoders' penultimate states side by side plus the second's
// pooled embedding and the six micro-conditioning numbers (SDXL, diffusers' StableDiffusionXLPipeline
// encode_prompt and _get_add_time_ids). Rows are [negative…, positive…] when guidance is on.
import { FAMILIES, SD1_FAMILY, type ModelFamily } from '../models/family.js';
import type { SdModel } from '../models/sessions.js';
import type { AdapterFeeds } from '../adapters/slots.js';
import type { OrtModule } from '../runtime/ort.js';
import { encodeText, encodeTextPooled, type AddedConditioning, type Conditioning } from './models.js';
import { repeatBatch } from './tensor.js';
import { chunkingIds, emptyPromptContext, entryAt, firstChunk, matchLengths, scheduledContext, type PromptStyle, type ScheduledContext } from '../prompt/stage.js';

export interface PromptTokenizer {
  /** The text as the 77 ids the text encoder reads (BOS, tokens, EOS, padding). */
  encodePadded(text: string): ArrayLike<number>;
}

export interface Size {
  width: number;
  height: number;
}

/** SDXL's micro-conditioning (diffusers' original_size, crops_coords_top_left, target_size and negatives). */
export interface SizeConditioning {
  originalSize?: Size;
  cropTopLeft?: { top: number; left: number };
  targetSize?: Size;
  negativeOriginalSize?: Size;
  negativeCropTopLeft?: { top: number; left: number };
  negativeTargetSize?: Size;
}

export interface PromptInput {
  prompt: string;
  negativePrompt: string;
  /** The second text encoder's prompts (SDXL prompt_2 / negative_prompt_2); default: the first's. */
  prompt2?: string;
  negativePrompt2?: string;
  sizeConditioning?: SizeConditioning;
  width: number;
  height: number;
  batchSize: number;
  adapters?: AdapterFeeds;
  /** Replaces the model's (first) tokenizer (one that knows the request's embeddings). */
  tokenizer?: PromptTokenizer;
  /** Replaces the model's second tokenizer (SDXL: one that knows the same embeddings, at the same ids). */
  tokenizer2?: PromptTokenizer;
  /** A1111 or ComfyUI prompt syntax (core/src/prompt); absent: diffusers' plain 77-token prompts. */
  promptStyle?: PromptStyle;
  /** The run's steps: A1111 prompt editing is scheduled over them. */
  steps: number;
}

export function familyOf(model: Pick<SdModel, 'family'>): ModelFamily {
  return model.family ? FAMILIES[model.family] : SD1_FAMILY;
}

/**
 * The six numbers per row [original h, w, crop top, left, target h, w]; defaults original = target = the
 * generation size, crop (0, 0). As StableDiffusionXLPipeline: the negative row differs only when both a
 * negative original size and a negative target size are given (its crop then defaults to (0, 0)).
 */
export function timeIds(width: number, height: number, c: SizeConditioning = {}): { positive: number[]; negative: number[] } {
  const row = (o: Size, crop: { top: number; left: number }, t: Size) => [o.height, o.width, crop.top, crop.left, t.height, t.width];
  const target = c.targetSize ?? { width, height };
  const positive = row(c.originalSize ?? target, c.cropTopLeft ?? { top: 0, left: 0 }, target);
  const negative = c.negativeOriginalSize && c.negativeTargetSize ? row(c.negativeOriginalSize, c.negativeCropTopLeft ?? { top: 0, left: 0 }, c.negativeTargetSize) : positive;
  return { positive, negative };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Per token, [a ‖ b] along the hidden axis: [S, da] and [S, db] → [S, da + db]. */
function concatHidden(a: Float32Array, b: Float32Array, tokens: number): Float32Array {
  const da = a.length / tokens;
  const db = b.length / tokens;
  const out = new Float32Array(a.length + b.length);
  for (let s = 0; s < tokens; s++) {
    out.set(a.subarray(s * da, (s + 1) * da), s * (da + db));
    out.set(b.subarray(s * db, (s + 1) * db), s * (da + db) + da);
  }
  return out;
}

interface Encoded {
  hidden: Float32Array;
  pooled?: Float32Array;
}

async function encodeOne(ort: OrtModule, model: SdModel<PromptTokenizer>, family: ModelFamily, texts: readonly string[], input: PromptInput): Promise<Encoded & { tokens: number }> {
  const parts: Encoded[] = [];
  let tokens = 0;
  for (const [i, spec] of family.textEncoders.entries()) {
    if (i === 0) {
      const ids = Array.from((input.tokenizer ?? model.tokenizer).encodePadded(texts[0]));
      tokens = ids.length;
      parts.push({ hidden: await encodeText(ort, model, ids, input.adapters) });
    } else {
      if (!model.tokenizer2) throw new Error(`${model.name} has no tokenizer for its ${spec.component}`);
      const ids = Array.from((input.tokenizer2 ?? model.tokenizer2).encodePadded(texts[i]));
      if (ids.length !== tokens) throw new Error(`the text encoders' tokenizers give ${tokens} and ${ids.length} ids`);
      parts.push(await encodeTextPooled(ort, model, ids, input.adapters));
    }
  }
  const hidden = parts.slice(1).reduce((acc, p) => concatHidden(acc, p.hidden, tokens), parts[0].hidden);
  const pooled = parts.find((p) => p.pooled)?.pooled;
  return { hidden, tokens, ...(pooled ? { pooled } : {}) };
}

/** Everything the UNet is conditioned on, for `batchSize` images and (with `cfg`) their negatives first. */
export async function encodeConditioning(ort: OrtModule, model: SdModel<PromptTokenizer>, input: PromptInput, cfg: boolean): Promise<Conditioning> {
  const family = familyOf(model);
  if (!family.sizeConditioning && (input.prompt2 !== undefined || input.negativePrompt2 !== undefined || input.sizeConditioning !== undefined)) {
    throw new Error(`${model.name} is an ${family.label} model with one text encoder and no size conditioning: prompt2, negativePrompt2 and sizeConditioning need an SDXL model`);
  }
  const batch = input.batchSize;
  const positive = await encodeOne(ort, model, family, [input.prompt, input.prompt2 ?? input.prompt], input);
  let negative: Encoded | undefined;
  if (cfg) {
    const none = input.negativePrompt === '' && (input.negativePrompt2 ?? '') === '';
    negative =
      family.zeroNegativeWhenEmpty && none
        ? { hidden: new Float32Array(positive.hidden.length), ...(positive.pooled ? { pooled: new Float32Array(positive.pooled.length) } : {}) }
        : await encodeOne(ort, model, family, [input.negativePrompt, input.negativePrompt2 ?? input.negativePrompt], input);
  }
  const rows = (cfg ? 2 : 1) * batch;
  const stack = (pick: (e: Encoded) => Float32Array) => {
    const pos = repeatBatch(pick(positive), batch);
    return negative ? concat(repeatBatch(pick(negative), batch), pos) : pos;
  };
  const hidden = stack((e) => e.hidden);
  const context: Conditioning = { data: hidden, dims: [rows, positive.tokens, hidden.length / (rows * positive.tokens)] };
  if (!family.sizeConditioning) return context;
  if (!positive.pooled) throw new Error(`${model.name}: no text encoder gives the pooled embedding SDXL's UNet needs`);
  const ids = timeIds(input.width, input.height, input.sizeConditioning);
  const timeRows = Float32Array.from([...(cfg ? new Array<number[]>(batch).fill(ids.negative) : []), ...new Array<number[]>(batch).fill(ids.positive)].flat());
  const added: AddedConditioning = {
    textEmbeds: { data: stack((e) => e.pooled!), dims: [rows, positive.pooled.length] },
    timeIds: { data: timeRows, dims: [rows, 6] },
  };
  return { ...context, added };
}

/** One side (prompt or negative) over the run, every encoder of the family side by side, with SDXL's pooled embedding. */
interface SideSchedule {
  ends: number[];
  at(call: number): Encoded & { tokens: number };
}

/**
 * The UNet's context at each model call (counted from 0). Plain prompts give one context for the whole run;
 * A1111 prompt editing changes it between calls, and long prompts make it 77·k tokens. Each of the family's
 * text encoders reads the prompt in the style (A1111's SDXL: each embedder chunks and weights on its own),
 * their hidden states side by side; SDXL's pooled embedding is the second encoder's at the first chunk.
 */
export async function stepConditioning(ort: OrtModule, model: SdModel<PromptTokenizer>, input: PromptInput, cfg: boolean): Promise<(call: number) => Conditioning> {
  const style = input.promptStyle;
  if (!style) {
    const context = await encodeConditioning(ort, model, input, cfg);
    return () => context;
  }
  const family = familyOf(model);
  const pooledOf = new Map<string, Float32Array>();
  const encoders = family.textEncoders.map((spec, i) => {
    if (i === 0) return { ids: chunkingIds(input.tokenizer ?? model.tokenizer), width: 0, encode: (c: readonly number[]) => encodeText(ort, model, c, input.adapters) };
    if (!model.tokenizer2) throw new Error(`${model.name} has no tokenizer for its ${spec.component}`);
    return {
      ids: chunkingIds(input.tokenizer2 ?? model.tokenizer2),
      width: 0,
      encode: async (c: readonly number[]) => {
        const r = await encodeTextPooled(ort, model, c, input.adapters);
        pooledOf.set(c.join(','), r.pooled);
        return r.hidden;
      },
    };
  });
  const side = async (texts: readonly string[], role: 'prompt' | 'negative'): Promise<SideSchedule> => {
    const schedules: ScheduledContext[] = [];
    for (const [i, e] of encoders.entries()) {
      const encode = async (c: readonly number[]) => {
        const hidden = await e.encode(c);
        e.width = hidden.length / c.length;
        return hidden;
      };
      schedules.push(await scheduledContext(texts[i]!, role, style, input.steps, e.ids, encode));
    }
    const ends = [...new Set(schedules.flatMap((s) => s.map(([end]) => end)))].sort((a, b) => a - b);
    return {
      ends,
      at: (call) => {
        const entries = schedules.map((s) => entryAt(s, call));
        const tokens = entries[0]![1].length / encoders[0]!.width;
        entries.forEach(([, c], i) => {
          if (c.length / encoders[i]!.width !== tokens) throw new Error(`the text encoders read ${tokens} and ${c.length / encoders[i]!.width} tokens: give prompt2 the same number of 75-token chunks as the prompt`);
        });
        const hidden = entries.slice(1).reduce((acc, [, c]) => concatHidden(acc, c, tokens), entries[0]![1]);
        if (!family.sizeConditioning) return { hidden, tokens };
        const last = encoders.length - 1;
        const pooled = pooledOf.get(firstChunk(entries[last]![2], style, encoders[last]!.ids).join(','));
        if (!pooled) throw new Error(`${model.name}: no pooled embedding for the prompt's first chunk`);
        return { hidden, tokens, pooled };
      },
    };
  };
  const positive = await side([input.prompt, input.prompt2 ?? input.prompt], 'prompt');
  const zeroNegative = family.zeroNegativeWhenEmpty && input.negativePrompt === '' && (input.negativePrompt2 ?? '') === '';
  const negative = cfg && !zeroNegative ? await side([input.negativePrompt, input.negativePrompt2 ?? input.negativePrompt], 'negative') : undefined;
  const width = encoders.reduce((w, e) => w + e.width, 0);
  const empty = cfg && style.padConds ? concatEmpty(await Promise.all(encoders.map((e) => emptyPromptContext(e.ids, e.encode)))) : undefined;
  const batch = input.batchSize;
  const ids = timeIds(input.width, input.height, input.sizeConditioning);
  const built = new Map<string, Conditioning>();
  return (call) => {
    // Prompt editing switches between a few contexts: each pair is assembled once.
    const key = `${positive.ends.findIndex((end) => call <= end)}/${negative?.ends.findIndex((end) => call <= end)}`;
    const cached = built.get(key);
    if (cached) return cached;
    const pos = positive.at(call);
    const neg: Encoded | undefined = !cfg ? undefined : negative ? negative.at(call) : { hidden: new Float32Array(pos.hidden.length), ...(pos.pooled ? { pooled: new Float32Array(pos.pooled.length) } : {}) };
    const [n, p] = neg ? matchLengths(neg.hidden, pos.hidden, width, empty) : [undefined, pos.hidden];
    const rows = (neg ? 2 : 1) * batch;
    const data = n ? concat(repeatBatch(n, batch), repeatBatch(p, batch)) : repeatBatch(p, batch);
    let context: Conditioning = { data, dims: [rows, p.length / width, width] };
    if (family.sizeConditioning) {
      const pooled = neg ? concat(repeatBatch(neg.pooled!, batch), repeatBatch(pos.pooled!, batch)) : repeatBatch(pos.pooled!, batch);
      const timeRows = Float32Array.from([...(neg ? new Array<number[]>(batch).fill(ids.negative) : []), ...new Array<number[]>(batch).fill(ids.positive)].flat());
      context = { ...context, added: { textEmbeds: { data: pooled, dims: [rows, pos.pooled!.length] }, timeIds: { data: timeRows, dims: [rows, 6] } } };
    }
    built.set(key, context);
    return context;
  };
}

/** The empty prompt's conditioning of each encoder, side by side. */
function concatEmpty(parts: readonly Float32Array[]): Float32Array {
  return parts.slice(1).reduce((acc, p) => concatHidden(acc, p, 77), parts[0]!);
}
