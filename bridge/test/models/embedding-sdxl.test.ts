// SDXL textual-inversion embeddings in both text encoders, exact by construction (there is no SDXL embedding
// golden data): a file whose clip_l / clip_g rows are the token rows of words, read from disk as the bridge
// reads it, gives what prompting those words gives — both encoders' hidden states and the pooled embedding,
// bit for bit — at the same token positions in both tokenizers. The pooled embedding is taken at the first
// EOS: an added token's id lies past EOS's, so a graph that took the largest id would pool at the embedding.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingTokenizer, type Embedding } from '@kirie/core/adapters/embedding';
import { adapterFeeds, addedTokenWidth, slotsOf, type AdapterSlots, type FeedData } from '@kirie/core/adapters/slots';
import { buildComponent } from '@kirie/core/models/build';
import { SDXL_FAMILY } from '@kirie/core/models/family';
import { serializeSafetensorsHeader } from '@kirie/core/models/safetensors';
import type { Component } from '@kirie/core/models/types';
import type { ClipTokenizer } from '@kirie/core/tokenizer/clip';
import { loadEmbedding } from '../../src/models/adapter-files.js';
import { openCheckpoint, type OpenedCheckpoint } from '../../src/models/checkpoint.js';
import { familyTokenizers } from '../../src/models/options.js';
import { tempDirPerFile } from './temp-dir.js';

const CKPT = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-sdxl.safetensors');
const TOKEN_ROWS = ['conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight', 'conditioner.embedders.1.model.token_embedding.weight'] as const;
const WORDS = 'red lighthouse';
const dir = tempDirPerFile('kirie-sdxl-embedding-');

/** A float32 safetensors file of `tensors` (name → [shape, data]). */
async function writeTensors(path: string, tensors: Record<string, [number[], Float32Array]>): Promise<void> {
  const entries = Object.entries(tensors);
  const { prefix } = serializeSafetensorsHeader(entries.map(([name, [shape]]) => ({ name, dtype: 'F32' as const, shape })));
  await writeFile(path, Buffer.concat([prefix, ...entries.map(([, [, data]]) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength))]));
}

describe('an SDXL embedding in both text encoders (tiny SDXL)', () => {
  let ckpt: OpenedCheckpoint;
  let tokenizers: ClipTokenizer[];
  let sessions: ort.InferenceSession[];
  let slots: AdapterSlots;
  let widths: number[];
  let wordIds: number[];

  beforeAll(async () => {
    ckpt = await openCheckpoint(CKPT);
    tokenizers = await familyTokenizers(SDXL_FAMILY);
    const build = async (component: Component) =>
      ort.InferenceSession.create(await buildComponent(component, ckpt.file, ckpt.arch, { precision: 'fp32', adapterSlots: true }), { intraOpNumThreads: 1 });
    sessions = [await build('text_encoder'), await build('text_encoder_2')];
    slots = { unet: [], textEncoder: slotsOf(sessions[0]!), textEncoder2: slotsOf(sessions[1]!), addedTokenWidth: addedTokenWidth(sessions[0]!), addedTokenWidth2: addedTokenWidth(sessions[1]!) };
    widths = [slots.addedTokenWidth!, slots.addedTokenWidth2!];
    wordIds = tokenizers[0]!.bpeIds(WORDS);
    // The embedding: the words' own token rows, clip_l from CLIP-L's table and clip_g from OpenCLIP's.
    const rows = await Promise.all(
      TOKEN_ROWS.map(async (key, i) => {
        const table = await ckpt.file.read(key);
        const out = new Float32Array(wordIds.length * widths[i]!);
        wordIds.forEach((id, r) => out.set(table.subarray(id * widths[i]!, (id + 1) * widths[i]!), r * widths[i]!));
        return out;
      }),
    );
    await writeTensors(join(dir.path, 'kirie-words.safetensors'), { clip_l: [[wordIds.length, widths[0]!], rows[0]!], clip_g: [[wordIds.length, widths[1]!], rows[1]!] });
    await writeTensors(join(dir.path, 'half.safetensors'), { clip_l: [[wordIds.length, widths[0]!], rows[0]!] });
    await writeTensors(join(dir.path, 'sd1-style.safetensors'), { emb_params: [[wordIds.length, widths[0]!], rows[0]!] });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.release()));
    await ckpt.file.close();
  });

  async function encode(encoder: 0 | 1, ids: ArrayLike<number>, embeddings: readonly Embedding[]): Promise<Record<string, Float32Array>> {
    const session = sessions[encoder]!;
    const adapters = adapterFeeds(slots, [], embeddings, false);
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int32', Int32Array.from(ids), [1, ids.length]) };
    for (const f of (encoder === 0 ? adapters.textEncoder : adapters.textEncoder2) as FeedData[]) if (session.inputNames.includes(f.name)) feeds[f.name] = new ort.Tensor('float32', f.data as Float32Array, f.dims);
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data as Float32Array]));
  }

  it('gives the hidden states of both encoders and the pooled embedding of the words it copies, from the same positions', async () => {
    const embedding = await loadEmbedding(join(dir.path, 'kirie-words.safetensors'), widths[0]!, 'kirie-words', widths[1]!);
    expect(embedding.count).toBe(wordIds.length);
    for (const encoder of [0, 1] as const) {
      const base = tokenizers[encoder]!;
      const withEmbedding = new EmbeddingTokenizer(base, [embedding]).encodePadded('a kirie-words at dusk, calm sea');
      const plain = base.encodePadded(`a ${WORDS} at dusk, calm sea`);
      // The n vectors take n positions, ids after the vocabulary; everything else is the plain prompt's.
      const added = Array.from(withEmbedding).flatMap((id, i) => (id >= base.vocabSize ? [i] : []));
      expect(added).toEqual([2, 3]);
      expect(added.map((i) => withEmbedding[i])).toEqual([base.vocabSize, base.vocabSize + 1]);
      expect(Array.from(withEmbedding).filter((_, i) => !added.includes(i))).toEqual(Array.from(plain).filter((_, i) => !added.includes(i)));
      const got = await encode(encoder, withEmbedding, [embedding]);
      const want = await encode(encoder, plain, []);
      expect(Object.keys(got).sort()).toEqual(encoder === 0 ? ['penultimate_hidden_state'] : ['penultimate_hidden_state', 'text_embeds']);
      for (const name of Object.keys(got)) expect(got[name], `encoder ${encoder + 1} ${name}`).toEqual(want[name]);
      // Not vacuous: other words give other states.
      const other = await encode(encoder, base.encodePadded('a blue lighthouse at dusk, calm sea'), []);
      for (const name of Object.keys(got)) expect(other[name]).not.toEqual(want[name]);
    }
  }, 120_000);

  it('refuses, naming the file, one with clip_l only and an SD1.x embedding', async () => {
    await expect(loadEmbedding(join(dir.path, 'half.safetensors'), widths[0]!, 'half', widths[1]!)).rejects.toThrow(/^half\.safetensors: an SDXL embedding needs .*this file has no clip_g/);
    await expect(loadEmbedding(join(dir.path, 'sd1-style.safetensors'), widths[0]!, 'sd1-style', widths[1]!)).rejects.toThrow(/^sd1-style\.safetensors is not an SDXL embedding/);
    // And the SDXL file for a one-encoder (SD1.x) model.
    await expect(loadEmbedding(join(dir.path, 'kirie-words.safetensors'), widths[0]!, 'kirie-words')).rejects.toThrow(/^kirie-words\.safetensors is an SDXL embedding .*this model is SD1\.x/);
  });
});
