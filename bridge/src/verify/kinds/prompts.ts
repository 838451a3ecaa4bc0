// Verify kind for tests/golden/prompts: both tools' prompt parse (a1111_parse.json), A1111's prompt-editing
// schedules (a1111_schedules.json) and conditioning (conditioning/cases.json: A1111's chunked encoder in each
// emphasis mode and clip skip, ComfyUI's CLIPTextEncode, the prompt/negative padding). The text encoder is
// tiny-sd15's with its final LayerNorm replaced by the folder's override, as the README says every tensor there was made.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildComponent } from '@kirie/core/models/build';
import { parseA1111Attention, parseComfyWeights, splitA1111And } from '@kirie/core/prompt/attention';
import { a1111Chunks, comfyChunks, A1111_EMPHASIS, type A1111Emphasis, type TextIds } from '@kirie/core/prompt/chunks';
import { stripExtraNetworks } from '@kirie/core/prompt/extra-networks';
import { promptSchedule } from '@kirie/core/prompt/schedules';
import { a1111ScheduledContext, emptyPromptContext, matchLengths } from '@kirie/core/prompt/stage';
import { comfyEncode, type EncodeChunk } from '@kirie/core/prompt/weighting';
import { openCheckpoint } from '../../models/checkpoint.js';
import { loadClipTokenizer } from '../../models/tokenizer-files.js';
import { readJson, readNpy } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';
import { compare } from './pipelines.js';
import { overriddenSource, readOverride } from '../text-encoder-override.js';

const KIND = 'prompts';
/** README: atol 1e-4 for tensors; token ids, weights and texts exact. */
const ATOL = 1e-4;

/** tiny-sd15's text encoder at a clip skip, LayerNorm overridden, as an encoder of one 77-id chunk. */
async function overriddenEncoder(root: string, clipSkip: number): Promise<{ encode: EncodeChunk; release(): Promise<void> }> {
  const ckpt = await openCheckpoint(join(root, 'tiny-sd15', 'tiny-sd15.safetensors'));
  let session: ort.InferenceSession;
  try {
    const source = overriddenSource(ckpt.file, await readOverride(join(root, 'prompts', 'text_encoder_final_layer_norm.safetensors')));
    session = await ort.InferenceSession.create(await buildComponent('text_encoder', source, ckpt.arch, { precision: 'fp32', clipSkip }), { intraOpNumThreads: 2 });
  } finally {
    await ckpt.file.close();
  }
  return {
    encode: async (ids) => {
      const out = await session.run({ input_ids: new ort.Tensor('int32', Int32Array.from(ids), [1, ids.length]) });
      return Float32Array.from(out.last_hidden_state!.data as Float32Array);
    },
    release: () => session.release(),
  };
}

function exact(name: string, compute: () => unknown, expected: unknown): CaseResult {
  let detail: string;
  try {
    const got = JSON.stringify(compute());
    const pass = got === JSON.stringify(expected);
    detail = pass ? 'exact' : `got ${got.slice(0, 300)}`;
    if (pass) return { case: name, kind: KIND, maxAbsDiff: 0, tolerance: 0, pass, detail };
  } catch (err) {
    detail = `threw: ${(err as Error).message}`;
  }
  return { case: name, kind: KIND, maxAbsDiff: Number.NaN, tolerance: 0, pass: false, detail };
}

interface ParseCase {
  id: string;
  prompt: string;
  extra_networks: { prompt: string; networks: Record<string, string[][]> };
  attention: [string, number][] | { error: string };
  multicond: { subprompts: { text: string; weight: number }[] };
  comfy_token_weights: [string, number][];
}

function attentionOrError(text: string): unknown {
  try {
    return parseA1111Attention(text);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function* parseCases(file: string): Generator<CaseResult> {
  for (const c of readJson<{ cases: ParseCase[] }>(file).cases) {
    const stripped = stripExtraNetworks(c.prompt);
    const byType: Record<string, string[][]> = {};
    for (const n of stripped.networks) (byType[n.type] ??= []).push(n.args);
    yield exact(`prompts/parse/${c.id}/extra_networks`, () => ({ prompt: stripped.prompt, networks: byType }), { prompt: c.extra_networks.prompt, networks: c.extra_networks.networks });
    // A1111's error text is Python's; what must match is that it fails.
    yield exact(`prompts/parse/${c.id}/attention`, () => {
      const r = attentionOrError(stripped.prompt);
      return r && typeof r === 'object' && 'error' in r ? 'error' : r;
    }, 'error' in c.attention ? 'error' : c.attention);
    yield exact(`prompts/parse/${c.id}/multicond`, () => splitA1111And(stripped.prompt), c.multicond.subprompts);
    yield exact(`prompts/parse/${c.id}/comfy_token_weights`, () => parseComfyWeights(c.prompt), c.comfy_token_weights);
  }
}

interface ScheduleCase {
  id: string;
  prompt: string;
  steps_10: [number, string][];
  steps_20: [number, string][];
  steps_20_use_old_scheduling: [number, string][];
  hires_base_20_hires_10: [number, string][];
}

function* scheduleCases(file: string): Generator<CaseResult> {
  for (const c of readJson<{ cases: ScheduleCase[] }>(file).cases) {
    yield exact(`prompts/schedules/${c.id}/steps_10`, () => promptSchedule(c.prompt, 10), c.steps_10);
    yield exact(`prompts/schedules/${c.id}/steps_20`, () => promptSchedule(c.prompt, 20), c.steps_20);
    yield exact(`prompts/schedules/${c.id}/old_scheduling`, () => promptSchedule(c.prompt, 20, { useOldScheduling: true }), c.steps_20_use_old_scheduling);
    yield exact(`prompts/schedules/${c.id}/hires`, () => promptSchedule(c.prompt, 20, { hiresSteps: 10 }), c.hires_base_20_hires_10);
  }
}

interface Tokenization {
  token_count: number;
  chunks: { tokens: number[]; multipliers: number[] }[];
}
interface A1111Config {
  subprompts: { text: string; weight: number; schedule: { end_at_step: number; cond: string }[] }[];
  tokenization_emphasis_None?: Record<string, Tokenization>;
}
interface ConditioningCase {
  id: string;
  prompt: string;
  steps_for_schedules: number;
  a1111: { stripped_prompt: string; tokenization: Record<string, Tokenization> } & Record<string, unknown>;
  comfyui: { token_weight_chunks: [number, number][][]; [k: `clip_skip=${number}`]: { cond: string; pooled: string } };
}
interface CfgPadding {
  prompt: string;
  negative_prompt: string;
  files: Record<'cond' | 'uncond' | 'empty_prompt_cond' | 'uncond_pad_conds' | 'uncond_repeat_lcm', string>;
}

function tokenizationOf(text: string, t: TextIds, emphasis: A1111Emphasis): Tokenization {
  const r = a1111Chunks(text, t, emphasis);
  return { token_count: r.tokenCount, chunks: r.chunks.map((c) => ({ tokens: c.tokens, multipliers: c.weights })) };
}

const CONFIG = /^emphasis=(.+),clip_skip=(\d+)$/;

async function* conditioningCases(file: CaseFile): AsyncGenerator<CaseResult> {
  const root = file.root!;
  const tokenizer = await loadClipTokenizer(join(root, 'tokenizer'));
  const encoders = new Map<number, Awaited<ReturnType<typeof overriddenEncoder>>>();
  const encoder = async (clipSkip: number) => {
    if (!encoders.has(clipSkip)) encoders.set(clipSkip, await overriddenEncoder(root, clipSkip));
    return encoders.get(clipSkip)!.encode;
  };
  const npy = (name: string) => readNpy(join(file.dir, name)).data as Float32Array;
  try {
    for (const c of (file.json as { cases: ConditioningCase[] }).cases) {
      const name = `prompts/conditioning/${c.id}`;
      const stripped = stripExtraNetworks(c.prompt).prompt;
      yield exact(`${name}/a1111_tokenization`, () => Object.keys(c.a1111.tokenization).map((text) => tokenizationOf(text, tokenizer, 'Original')), Object.values(c.a1111.tokenization).map((v) => ({ token_count: v.token_count, chunks: v.chunks })));
      for (const [key, value] of Object.entries(c.a1111)) {
        const m = CONFIG.exec(key);
        if (!m) continue;
        const emphasis = A1111_EMPHASIS.find((e) => e === m[1]);
        if (!emphasis) throw new Error(`${name}: unknown emphasis ${m[1]}`);
        const config = value as A1111Config;
        const parts = splitA1111And(stripped);
        for (const [k, sub] of config.subprompts.entries()) {
          const scheduled = await a1111ScheduledContext(parts[k]!.text, c.steps_for_schedules, emphasis, tokenizer, await encoder(Number(m[2])));
          for (const [e, entry] of sub.schedule.entries()) {
            const [end, context] = scheduled[e] ?? [Number.NaN, new Float32Array()];
            yield compare(`${name}/a1111/${key}/s${k}.e${e}`, `cond until step ${end} (expected ${entry.end_at_step})`, end === entry.end_at_step ? context : new Float32Array(), npy(entry.cond), ATOL, KIND);
          }
        }
        for (const [text, want] of Object.entries(config.tokenization_emphasis_None ?? {})) {
          yield exact(`${name}/a1111/${key}/tokenization`, () => tokenizationOf(text, tokenizer, 'None'), { token_count: want.token_count, chunks: want.chunks });
        }
      }
      yield exact(`${name}/comfy_chunks`, () => comfyChunks(c.prompt, tokenizer).map((ch) => ch.tokens.map((id, i) => [id, ch.weights[i]])), c.comfyui.token_weight_chunks);
      for (const clipSkip of [1, 2]) {
        const want = c.comfyui[`clip_skip=${clipSkip}`];
        const chunks = comfyChunks(c.prompt, tokenizer);
        yield compare(`${name}/comfy/clip_skip=${clipSkip}/cond`, 'CLIPTextEncode cond', await comfyEncode(chunks, await encoder(clipSkip), tokenizer), npy(want.cond), ATOL, KIND);
        // Pooled: the last layer's output at chunk 0's first EOS, whatever the clip skip (ComfyUI's CLIPTextModel_).
        const first = await (await encoder(1))(chunks[0]!.tokens);
        const eos = chunks[0]!.tokens.indexOf(tokenizer.eosId);
        const width = first.length / chunks[0]!.tokens.length;
        yield compare(`${name}/comfy/clip_skip=${clipSkip}/pooled`, 'pooled (first EOS of chunk 0)', first.slice(eos * width, (eos + 1) * width), npy(want.pooled), ATOL, KIND);
      }
    }
    const pad = (file.json as { cfg_padding: CfgPadding }).cfg_padding;
    const encode = await encoder(1);
    const contextOf = async (prompt: string) => (await a1111ScheduledContext(stripExtraNetworks(prompt).prompt, 20, 'Original', tokenizer, encode))[0]![1];
    const [cond, uncond, empty] = [await contextOf(pad.prompt), await contextOf(pad.negative_prompt), await emptyPromptContext(tokenizer, encode)];
    const width = empty.length / 77;
    yield compare('prompts/cfg_padding/cond', '3-chunk prompt', cond, npy(pad.files.cond), ATOL, KIND);
    yield compare('prompts/cfg_padding/uncond', 'negative prompt', uncond, npy(pad.files.uncond), ATOL, KIND);
    yield compare('prompts/cfg_padding/empty_prompt_cond', 'empty prompt', empty, npy(pad.files.empty_prompt_cond), ATOL, KIND);
    yield compare('prompts/cfg_padding/uncond_pad_conds', 'A1111 Pad conds', matchLengths(uncond, cond, width, empty)[0], npy(pad.files.uncond_pad_conds), ATOL, KIND);
    yield compare('prompts/cfg_padding/uncond_repeat_lcm', 'repeated to the lcm (ComfyUI; A1111 default)', matchLengths(uncond, cond, width)[0], npy(pad.files.uncond_repeat_lcm), ATOL, KIND);
  } finally {
    for (const e of encoders.values()) await e.release();
  }
}

export const promptsKind: VerifyKind = {
  kind: KIND,
  providers: ['cpu'],
  matches: (file) => 'cfg_padding' in file.json && Array.isArray(file.json.cases),
  run: async function* (file) {
    if (!file.root) throw new Error('no tiny-sd15/ folder above the case: cannot find the text encoder');
    // The parse and schedule sets sit beside conditioning/ under names the case-file walk does not visit.
    yield* parseCases(join(file.dir, '..', 'a1111_parse.json'));
    yield* scheduleCases(join(file.dir, '..', 'a1111_schedules.json'));
    yield* conditioningCases(file);
  },
};

