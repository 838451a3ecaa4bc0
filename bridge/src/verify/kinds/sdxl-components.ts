// Verify kind for tests/golden/sdxl/components: both text encoders (tokenizer ids, penultimate hidden states,
// pooled embeds, the concatenated prompt embeds), the added time-id conditioning, the UNet (base and 9-channel)
// with text_embeds/time_ids, and the VAE, built from the tiny SDXL checkpoints as a user's checkpoint is.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { PENULTIMATE_OUTPUT } from '@kirie/core/models/text-encoder';
import { POOLED_OUTPUT } from '@kirie/core/models/open-clip-text';
import { SDXL_FAMILY } from '@kirie/core/models/family';
import { Graph } from '@kirie/core/models/onnx/graph';
import { labelEmbedding, TEXT_EMBEDS_INPUT, TIME_IDS_INPUT, UNET_PREFIX } from '@kirie/core/models/unet';
import { openCheckpoint, type OpenedCheckpoint as Checkpoint } from '../../models/checkpoint.js';
import { loadFamilyTokenizers } from '../../models/tokenizer-files.js';
import { allClose } from '../compare.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';
import { check, f32, sessionFor, vaeCases } from './components.js';

/** README: atol 1e-4 (UNet 2e-4) as for SD1.5. */
const TOL = { text: 1e-4, unet: 2e-4 } as const;
const KIND = 'components';

function sameIds(name: string, actual: ArrayLike<number>, expected: readonly number[]): CaseResult {
  const r = allClose(actual, expected, 0);
  return { case: name, kind: KIND, maxAbsDiff: r.maxAbsDiff, tolerance: 0, pass: r.pass && actual.length === expected.length, detail: 'token ids' };
}

/** Concatenates [1, S, a] and [1, S, b] along the last axis. */
function concatLast(a: Float32Array, da: number, b: Float32Array, db: number): Float32Array {
  const rows = a.length / da;
  const out = new Float32Array(rows * (da + db));
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * da, (r + 1) * da), r * (da + db));
    out.set(b.subarray(r * db, (r + 1) * db), r * (da + db) + da);
  }
  return out;
}

interface TextItem {
  prompt: string;
  input_ids_1: number[];
  input_ids_2: number[];
  text_encoder_1_penultimate: string;
  text_encoder_2_penultimate: string;
  pooled_text_embeds: string;
  prompt_embeds: string;
}

async function* textCases(root: string, dir: string, ckpt: Checkpoint, items: TextItem[]): AsyncGenerator<CaseResult> {
  const [tok1, tok2] = await loadFamilyTokenizers(join(root, 'tokenizer'), SDXL_FAMILY);
  const te1 = await sessionFor(ckpt, 'text_encoder');
  const te2 = await sessionFor(ckpt, 'text_encoder_2');
  const d1 = ckpt.arch.textEncoder.hiddenSize;
  const d2 = ckpt.arch.textEncoder2!.width;
  for (const [i, item] of items.entries()) {
    const ids1 = tok1.encodePadded(item.prompt);
    const ids2 = tok2.encodePadded(item.prompt);
    yield sameIds(`components/sdxl.text.${i}.input_ids_1`, ids1, item.input_ids_1);
    yield sameIds(`components/sdxl.text.${i}.input_ids_2`, ids2, item.input_ids_2);
    const h1 = (await te1.run({ input_ids: new ort.Tensor('int32', ids1, [1, ids1.length]) }))[PENULTIMATE_OUTPUT].data as Float32Array;
    const out2 = await te2.run({ input_ids: new ort.Tensor('int32', ids2, [1, ids2.length]) });
    const h2 = out2[PENULTIMATE_OUTPUT].data as Float32Array;
    yield check(`components/sdxl.text.${i}.te1_penultimate`, h1, join(dir, item.text_encoder_1_penultimate), TOL.text);
    yield check(`components/sdxl.text.${i}.te2_penultimate`, h2, join(dir, item.text_encoder_2_penultimate), TOL.text);
    yield check(`components/sdxl.text.${i}.pooled`, out2[POOLED_OUTPUT].data as Float32Array, join(dir, item.pooled_text_embeds), TOL.text);
    yield check(`components/sdxl.text.${i}.prompt_embeds`, concatLast(h1, d1, h2, d2), join(dir, item.prompt_embeds), TOL.text);
  }
  await te1.release();
  await te2.release();
}

interface TimeIdsCase {
  pooled_text_embeds: string;
  items: { add_time_ids: number[]; time_embeds: string; add_embeds: string; aug_emb: string }[];
}

/** The UNet's own added-conditioning subgraph (label_emb), built alone to compare its intermediate values. */
async function* timeIdCases(dir: string, ckpt: Checkpoint, c: TimeIdsCase): AsyncGenerator<CaseResult> {
  const g = new Graph(ckpt.file, { fp16: false });
  const { timeEmbeds, addEmbeds, augEmb } = await labelEmbedding(g, ckpt.arch.unet, UNET_PREFIX);
  for (const [name, value] of [['time_embeds', timeEmbeds], ['add_embeds', addEmbeds], ['aug_emb', augEmb]]) g.output(name, value, ['batch', 'width']);
  const session = await ort.InferenceSession.create(g.toBytes('label_emb', 'SDXL added conditioning'));
  const pooled = f32(join(dir, c.pooled_text_embeds));
  for (const [j, item] of c.items.entries()) {
    const out = await session.run({ [TEXT_EMBEDS_INPUT]: pooled, [TIME_IDS_INPUT]: new ort.Tensor('float32', Float32Array.from(item.add_time_ids), [1, 6]) });
    for (const what of ['time_embeds', 'add_embeds', 'aug_emb'] as const) {
      yield check(`components/sdxl.time_ids.${j}.${what}`, out[what].data as Float32Array, join(dir, item[what]), TOL.text);
    }
  }
  await session.release();
}

interface UnetCase {
  sample: string;
  encoder_hidden_states: string;
  text_embeds: string;
  time_ids: string;
  items: { timestep: number; output: string }[];
}

async function* unetCases(dir: string, ckpt: Checkpoint, name: string, c: UnetCase): AsyncGenerator<CaseResult> {
  const unet = await sessionFor(ckpt, 'unet');
  const feeds = {
    sample: f32(join(dir, c.sample)),
    encoder_hidden_states: f32(join(dir, c.encoder_hidden_states)),
    text_embeds: f32(join(dir, c.text_embeds)),
    time_ids: f32(join(dir, c.time_ids)),
  };
  for (const item of c.items) {
    const timestep = new ort.Tensor('float32', Float32Array.of(item.timestep), [1]);
    const out = await unet.run({ ...feeds, timestep });
    yield check(`components/sdxl.${name}.t${item.timestep}`, out.out_sample.data as Float32Array, join(dir, item.output), TOL.unet);
  }
  await unet.release();
}

export const sdxlComponentsKind: VerifyKind = {
  kind: KIND,
  providers: ['cpu'],
  matches(file: CaseFile): boolean {
    const cases = file.json.cases as Record<string, unknown> | undefined;
    return !!cases && 'text' in cases && 'time_ids' in cases && 'unet' in cases;
  },
  async *run(file: CaseFile): AsyncIterable<CaseResult> {
    if (!file.root) throw new Error(`${file.path}: no tiny-sd15/ folder above this case directory`);
    const cases = file.json.cases as Record<string, any>;
    const open = (name: string) => openCheckpoint(join(file.root!, 'tiny-sd15', name));
    const base = await open(cases.unet.checkpoint);
    try {
      yield* textCases(file.root, file.dir, base, cases.text.items);
      yield* timeIdCases(file.dir, base, cases.time_ids);
      yield* unetCases(file.dir, base, 'unet', cases.unet);
      yield* vaeCases(file.dir, base, cases);
    } finally {
      await base.file.close();
    }
    const inpaint = await open(cases.unet_inpaint.checkpoint);
    try {
      yield* unetCases(file.dir, inpaint, 'unet_inpaint', cases.unet_inpaint);
    } finally {
      await inpaint.file.close();
    }
  },
};

