// Verify kind for tests/golden/lora/components/case.json: per-module ΔW of every adapter format, the text
// encoder and UNet with LoRAs applied through the graphs' adapter inputs, and textual-inversion token ids and
// hidden states, on the tiny checkpoint built as a user's checkpoint is (openModel).
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EmbeddingTokenizer, type Embedding } from '@kirie/core/adapters/embedding';
import { moduleDelta, type LoraAdapter } from '@kirie/core/adapters/lora';
import { adapterFeeds, type ActiveLora } from '@kirie/core/adapters/slots';
import { encodeText, predictNoise, zeroResiduals } from '@kirie/core/pipeline/models';
import { loadEmbedding, loadLora } from '../../models/adapter-files.js';
import { openModel, type LoadedModel } from '../../models/load.js';
import { loadClipTokenizer } from '../../models/tokenizer-files.js';
import { allClose } from '../compare.js';
import { readNpy } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';

const KIND = 'lora-components';
/** README "Recommended checks". */
const TOL = { text: 1e-4, unet: 2e-4, deltaAtol: 1e-8, deltaRtol: 1e-5 } as const;

interface LoraUse {
  file: string;
  unet_scale: number | null;
  te_scale: number | null;
}

function result(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, detail?: string): CaseResult {
  if (actual.length !== expected.length) {
    return { case: name, kind: KIND, maxAbsDiff: Number.POSITIVE_INFINITY, tolerance: atol, pass: false, detail: `got ${actual.length} values, expected ${expected.length}` };
  }
  const r = allClose(actual, expected, atol, rtol);
  return { case: name, kind: KIND, maxAbsDiff: r.maxAbsDiff, tolerance: atol, pass: r.pass, ...(detail ? { detail } : {}) };
}

export async function* checkLoraComponents(file: CaseFile): AsyncGenerator<CaseResult> {
  if (!file.root) throw new Error('no tiny-sd15/ folder above the case: cannot find the adapters');
  const assets = join(file.root, 'tiny-sd15');
  const cases = (file.json as { cases: Record<string, { items: any[]; sample?: string; encoder_hidden_states?: string }> }).cases;
  const model: LoadedModel = await openModel(join(assets, 'tiny-sd15.safetensors'), { device: 'cpu' });
  try {
    const table = model.adapterTable!;
    const slots = model.io.adapters!;
    const loras = new Map<string, Promise<LoraAdapter>>();
    const lora = (name: string) => {
      if (!loras.has(name)) loras.set(name, loadLora(join(assets, name), table));
      return loras.get(name)!;
    };
    const active = async (uses: LoraUse[]): Promise<ActiveLora[]> =>
      Promise.all(uses.map(async (u) => ({ adapter: await lora(u.file), unet: u.unet_scale ?? 0, textEncoder: u.te_scale ?? 0 })));
    const expected = (name: string) => readNpy(join(file.dir, name)).data as Float32Array;

    for (const [i, item] of cases.deltas!.items.entries()) {
      const module = (item.checkpoint_key as string).replace(/\.weight$/, '');
      const f = (await lora(item.file)).modules.find((m) => m.module === module);
      const name = `lora/components/deltas.${i}`;
      if (!f) yield { case: name, kind: KIND, maxAbsDiff: Number.NaN, tolerance: TOL.deltaAtol, pass: false, detail: `${item.file} gave no module for ${module}` };
      else yield result(name, moduleDelta(f), expected(item.delta), TOL.deltaAtol, TOL.deltaRtol, `${item.file} ${item.diffusers_param}`);
    }

    for (const [i, item] of cases.text_encoder_lora!.items.entries()) {
      const feeds = adapterFeeds(slots, await active(item.loras), [], false);
      const out = await encodeText(ort, model, item.input_ids, feeds);
      yield result(`lora/components/text_encoder_lora.${i}`, out, expected(item.last_hidden_state), TOL.text, 0, item.a1111);
    }

    const unet = cases.unet_lora!;
    const sample = readNpy(join(file.dir, unet.sample!));
    const context = readNpy(join(file.dir, unet.encoder_hidden_states!));
    const input = { data: Float32Array.from(sample.data as ArrayLike<number>), dims: sample.shape };
    const ctx = { data: Float32Array.from(context.data as ArrayLike<number>), dims: context.shape };
    const noControl = model.io.unetTakesResiduals ? zeroResiduals(model, sample.shape) : null;
    for (const [i, item] of unet.items.entries()) {
      const feeds = adapterFeeds(slots, await active(item.loras), [], false);
      const out = await predictNoise(ort, model, input, item.timestep, ctx, noControl, feeds);
      yield result(`lora/components/unet_lora.${i}.t${item.timestep}`, out, expected(item.output), TOL.unet, 0, item.loras.map((l: LoraUse) => `${l.file}×${l.unet_scale}`).join(' + '));
    }

    const clip = await loadClipTokenizer(join(file.root, 'tokenizer'));
    const width = slots.addedTokenWidth!;
    for (const [i, item] of cases.text_encoder_textual_inversion!.items.entries()) {
      const embeddings: Embedding[] = await Promise.all(item.embeddings.map((e: { file: string; token: string }) => loadEmbedding(join(assets, e.file), width, e.token)));
      const tokenizer = new EmbeddingTokenizer(clip, embeddings);
      const ids = Array.from(tokenizer.encodePadded(item.prompt));
      const name = `lora/components/textual_inversion.${i}`;
      const converted = tokenizer.convert(item.prompt);
      if (converted !== item.converted_prompt) {
        yield { case: `${name}/converted_prompt`, kind: KIND, maxAbsDiff: Number.NaN, tolerance: 0, pass: false, detail: `got ${JSON.stringify(converted)}` };
      }
      yield result(`${name}/input_ids`, ids, item.input_ids, 0);
      const out = await encodeText(ort, model, ids, adapterFeeds(slots, [], embeddings, false));
      yield result(`${name}/last_hidden_state`, out, expected(item.last_hidden_state), TOL.text, 0, item.prompt);
    }
  } finally {
    await model.release();
  }
}

export const loraComponentsKind: VerifyKind = {
  kind: KIND,
  providers: ['cpu'],
  matches: (file) => {
    const cases = file.json.cases as Record<string, unknown> | undefined;
    return typeof cases === 'object' && cases !== null && 'unet_lora' in cases && 'deltas' in cases;
  },
  run: checkLoraComponents,
};
