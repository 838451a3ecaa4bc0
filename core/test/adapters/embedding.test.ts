// Reading textual-inversion files for one- and two-encoder models, and what each encoder is fed from them.
import { describe, expect, it } from 'vitest';
import { EmbeddingTokenizer, readEmbedding, sdxlEmbeddingProblem, type BpeIds } from '../../src/adapters/embedding.js';
import type { AdapterTensors } from '../../src/adapters/lora.js';
import { adapterFeeds } from '../../src/adapters/slots.js';
import { ADDED_TOKENS_INPUT } from '../../src/models/text-encoder.js';

// Two encoders as narrow as the tiny SDXL model's (CLIP-L 32, OpenCLIP 40; real SDXL: 768, 1280).
const L = 32;
const G = 40;

function file(label: string, shapes: Record<string, number[]>): AdapterTensors {
  const data = (k: string) => Float32Array.from({ length: shapes[k]!.reduce((a, b) => a * b, 1) }, (_, i) => i + (k === 'clip_g' ? 0.5 : 0));
  return { label, keys: () => Object.keys(shapes), shape: (k) => shapes[k]!, read: async (k) => data(k) };
}

describe('readEmbedding', () => {
  it('an SDXL file gives each encoder its own rows, the same count', async () => {
    const e = await readEmbedding(file('neg.safetensors', { clip_g: [3, G], clip_l: [3, L] }), 'neg', L, G);
    expect(e.count).toBe(3);
    expect(e.vectors).toHaveLength(3 * L);
    expect(e.vectors2).toHaveLength(3 * G);
    expect(e.vectors2![0]).toBe(0.5);
    expect(e.vectors[0]).toBe(0);
  });

  it('a one-vector SDXL file may store its rows unbatched', async () => {
    expect((await readEmbedding(file('one.safetensors', { clip_l: [L], clip_g: [G] }), 'one', L, G)).count).toBe(1);
  });

  it.each([
    [{ clip_l: [2, L] }, L, G, /half\.safetensors: an SDXL embedding needs clip_l .* and clip_g .*; this file has no clip_g/],
    [{ clip_g: [2, G] }, L, G, /half\.safetensors: .*this file has no clip_l/],
    [{ clip_l: [2, 768], clip_g: [2, 1280] }, L, G, /half\.safetensors: clip_l is \[2,768\], this model's first text encoder takes vectors of 32/],
    [{ clip_l: [2, L], clip_g: [2, 1280] }, L, G, /half\.safetensors: clip_g is \[2,1280\], this model's second text encoder takes vectors of 40/],
    [{ clip_l: [2, L], clip_g: [3, G] }, L, G, /half\.safetensors: clip_l has 2 vectors and clip_g 3/],
    [{ emb_params: [2, L] }, L, G, /half\.safetensors is not an SDXL embedding .*SD1\.x embeddings do not fit an SDXL model/],
    [{ clip_l: [2, L], clip_g: [2, G] }, L, undefined, /half\.safetensors is an SDXL embedding .*this model is SD1\.x/],
  ])('refuses %j, naming the file', async (shapes, width, width2, message) => {
    await expect(readEmbedding(file('half.safetensors', shapes), 'half', width, width2)).rejects.toThrow(message);
  });
});

describe('sdxlEmbeddingProblem (what the adapter list shows, whatever the model)', () => {
  it.each([
    [{ clip_l: [2, 768], clip_g: [2, 1280] }, undefined],
    [{ clip_l: [768], clip_g: [1, 1280] }, undefined],
    [{ emb_params: [2, 768] }, undefined],
    [{ clip_g: [2, 1280] }, /this file has no clip_l/],
    [{ clip_l: [2, 768], clip_g: [4, 1280] }, /clip_l has 2 vectors and clip_g 4/],
  ])('%j', (shapes: Record<string, number[]>, problem) => {
    const found = sdxlEmbeddingProblem(Object.keys(shapes), (k) => shapes[k]!);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('two encoders, one set of added tokens', () => {
  const words = new Map<string, number>();
  const bpe = (padId = 99): BpeIds => ({
    bosId: 1,
    eosId: 99,
    padId,
    vocabSize: 100,
    bpeIds: (t) => t.split(/\s+/).filter(Boolean).map((w) => words.get(w) ?? words.set(w, 10 + words.size).get(w)!),
  });

  it("SDXL's second tokenizer pads with its own pad id after EOS, at the same positions as the first", async () => {
    const e = await readEmbedding(file('neg.safetensors', { clip_l: [2, L], clip_g: [2, G] }), 'neg', L, G);
    const first = new EmbeddingTokenizer(bpe(), [e]).encodePadded('ugly neg', 8);
    const second = new EmbeddingTokenizer(bpe(0), [e]);
    expect(Array.from(first)).toEqual([1, words.get('ugly'), 100, 101, 99, 99, 99, 99]);
    expect(Array.from(second.encodePadded('ugly neg', 8))).toEqual([1, words.get('ugly'), 100, 101, 99, 0, 0, 0]);
    expect(second.textIds().padId).toBe(0);
  });

  it('feeds each text encoder its own rows; an SD1.x embedding on a two-encoder graph is refused', async () => {
    const e = await readEmbedding(file('neg.safetensors', { clip_l: [2, L], clip_g: [2, G] }), 'neg', L, G);
    const slots = { unet: [], textEncoder: [], textEncoder2: [], addedTokenWidth: L, addedTokenWidth2: G };
    const feeds = adapterFeeds(slots, [], [e], false);
    const rows = (list: typeof feeds.textEncoder) => list.find((f) => f.name === ADDED_TOKENS_INPUT)!;
    expect(rows(feeds.textEncoder)).toMatchObject({ dims: [2, L], data: e.vectors });
    expect(rows(feeds.textEncoder2)).toMatchObject({ dims: [2, G], data: e.vectors2 });
    // With none active each graph still gets its (zero) input.
    expect(rows(adapterFeeds(slots, [], [], false).textEncoder2).dims).toEqual([1, G]);
    const sd1 = await readEmbedding(file('old.safetensors', { emb_params: [1, L] }), 'old', L);
    expect(() => adapterFeeds(slots, [], [sd1], false)).toThrow(/embedding old has no vectors for a second text encoder/);
  });
});
