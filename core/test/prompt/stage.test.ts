// The prompt stage's per-call contexts and the request fields that choose it, with a fake text encoder
// whose output row j is [id_j, weight-free position j] so every step of the stage can be seen.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextAt, matchLengths, scheduledContext } from '../../src/prompt/stage.js';
import { parseGenerateRequest } from '../../src/request/parse.js';
import { ClipTokenizer } from '../../src/tokenizer/clip.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/tokenizer');
const tokenizer = ClipTokenizer.fromVocabAndMerges(JSON.parse(readFileSync(join(GOLDEN, 'vocab.json'), 'utf8')) as Record<string, number>, readFileSync(join(GOLDEN, 'merges.txt'), 'utf8'));
/** [77, 2]: each token's id and 1, so a chunk's mean is never 0. */
const encode = async (ids: readonly number[]) => Float32Array.from(ids.flatMap((id) => [id, 1]));
const idsOf = (context: Float32Array) => Array.from(context.filter((_, i) => i % 2 === 0));
const cat = tokenizer.bpeIds('cat')[0]!;
const dog = tokenizer.bpeIds('dog')[0]!;

describe('per-call contexts', () => {
  it('prompt editing: A1111 uses the first entry whose end_at_step is at or after the call', async () => {
    const s = await scheduledContext('[cat:dog:2]', 'prompt', { syntax: 'a1111' }, 4, tokenizer, encode);
    expect(s.map(([end]) => end)).toEqual([2, 4]);
    // Calls 0, 1, 2 are "cat" (A1111 counts calls from 0 against steps counted from 1), 3 is "dog".
    expect([0, 1, 2, 3].map((call) => idsOf(contextAt(s, call))[1])).toEqual([cat, cat, cat, dog]);
    // Calls past the schedule (a second-order sampler's extra calls) keep the last text.
    expect(idsOf(contextAt(s, 9))[1]).toBe(dog);
  });

  it('alternation changes the text every call', async () => {
    const s = await scheduledContext('[cat|dog]', 'prompt', { syntax: 'a1111' }, 4, tokenizer, encode);
    expect([0, 1, 2, 3].map((call) => idsOf(contextAt(s, call))[1])).toEqual([cat, cat, dog, cat]);
  });

  it('the negative prompt keeps tags and AND as text; the prompt refuses AND', async () => {
    const negative = await scheduledContext('<lora:x:1> AND', 'negative', { syntax: 'a1111' }, 4, tokenizer, encode);
    expect(idsOf(negative[0]![1]).slice(1, 4)).toEqual(tokenizer.bpeIds('<lora:x:1> AND').slice(0, 3));
    await expect(scheduledContext('cat AND dog', 'prompt', { syntax: 'a1111' }, 4, tokenizer, encode)).rejects.toThrow(/AND \(A1111 composable diffusion\) is not supported: the prompt has 2 AND parts/);
  });

  it('ComfyUI syntax reads brackets and BREAK as text and has one context for the run', async () => {
    const s = await scheduledContext('[cat:dog:2] BREAK', 'prompt', { syntax: 'comfyui' }, 4, tokenizer, encode);
    expect(s).toHaveLength(1);
    expect(idsOf(contextAt(s, 3)).slice(1, 9)).toEqual(tokenizer.bpeIds('[cat:dog:2] BREAK').slice(0, 8));
  });

  it('long prompts: 77·k tokens, and negative and positive meet at one length', async () => {
    const long = await scheduledContext(Array.from({ length: 100 }, () => 'cat').join(' '), 'prompt', { syntax: 'a1111' }, 4, tokenizer, encode);
    const short = await scheduledContext('dog', 'negative', { syntax: 'a1111' }, 4, tokenizer, encode);
    const [pos, neg] = [contextAt(long, 0), contextAt(short, 0)];
    expect(pos.length).toBe(154 * 2);
    const empty = await encode([tokenizer.bosId, ...new Array<number>(76).fill(tokenizer.eosId)]);
    const [tiled] = matchLengths(neg, pos, 2);
    expect(Array.from(tiled)).toEqual([...neg, ...neg]);
    const [padded] = matchLengths(neg, pos, 2, empty);
    expect(Array.from(padded)).toEqual([...neg, ...empty]);
    // 2 and 3 chunks repeat to 6 (ComfyUI's lcm).
    expect(matchLengths(new Float32Array(154 * 2), new Float32Array(231 * 2), 2).map((c) => c.length / 2)).toEqual([462, 462]);
  });
});

describe('request fields', () => {
  it.each([
    [{ emphasis: 'No norm' }, 'emphasis', /needs promptSyntax "a1111"/],
    [{ promptSyntax: 'comfyui', padConds: true }, 'padConds', /needs promptSyntax "a1111"/],
    [{ promptSyntax: 'a1111', prompt: 'cat AND dog:0.5' }, 'prompt', /AND \(A1111 composable diffusion\) is not supported/],
    [{ promptSyntax: 'a1111', negativePrompt: '(blurry:1.2.3)' }, 'negativePrompt', /could not convert string to float: '1.2.3'/],
    [{ promptSyntax: 'midjourney' }, 'promptSyntax', /promptSyntax must be one of: plain, a1111, comfyui/],
    [{ promptSyntax: 'a1111', emphasis: 'Strong' }, 'emphasis', /emphasis must be one of: Original, No norm, Ignore, None/],
  ])('refuses %j naming %s', (patch, field, message) => {
    const r = (() => {
      try {
        parseGenerateRequest({ prompt: 'cat', ...patch });
        return undefined;
      } catch (err) {
        return err as Error & { issues?: { path: (string | number)[]; message: string }[] };
      }
    })();
    expect(r?.message).toMatch(message);
    expect(r?.message).toContain(field);
  });

  it('leaves prompts plain unless asked (the diffusers-exact references send no promptSyntax)', () => {
    expect(parseGenerateRequest({ prompt: '(cat:1.2)' }).promptSyntax).toBeUndefined();
    expect(parseGenerateRequest({ prompt: 'cat AND dog' }).promptSyntax).toBeUndefined();
    expect(parseGenerateRequest({ prompt: 'x', promptSyntax: 'a1111', emphasis: 'No norm', padConds: true })).toMatchObject({ promptSyntax: 'a1111', emphasis: 'No norm', padConds: true });
  });
});
