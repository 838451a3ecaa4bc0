// SDXL's micro-conditioning rows as StableDiffusionXLPipeline._get_add_time_ids builds them, and the family a
// model without one is taken for.
import { describe, expect, it } from 'vitest';
import { familyOf, timeIds } from '../../src/pipeline/conditioning.js';
import { ClipTokenizer } from '../../src/tokenizer/clip.js';

describe('timeIds', () => {
  it('defaults original and target size to the generation size (height first), crop (0, 0), negatives = positives', () => {
    expect(timeIds(1152, 896)).toEqual({ positive: [896, 1152, 0, 0, 896, 1152], negative: [896, 1152, 0, 0, 896, 1152] });
  });

  it('original size defaults to the target size when only the target is given', () => {
    expect(timeIds(64, 64, { targetSize: { width: 128, height: 96 } }).positive).toEqual([96, 128, 0, 0, 96, 128]);
  });

  it('negative rows differ only when both a negative original and a negative target size are given', () => {
    const c = { originalSize: { width: 128, height: 96 }, cropTopLeft: { top: 8, left: 16 } };
    expect(timeIds(64, 64, { ...c, negativeOriginalSize: { width: 48, height: 32 } }).negative).toEqual([96, 128, 8, 16, 64, 64]);
    const both = timeIds(64, 64, { ...c, negativeOriginalSize: { width: 48, height: 32 }, negativeTargetSize: { width: 64, height: 64 } });
    expect(both.negative).toEqual([32, 48, 0, 0, 64, 64]);
    expect(both.positive).toEqual([96, 128, 8, 16, 64, 64]);
  });
});

describe('familyOf', () => {
  it('a model that names no family is SD1.x (ONNX folders); SDXL has two encoders and size conditioning', () => {
    expect(familyOf({}).id).toBe('sd1');
    const sdxl = familyOf({ family: 'sdxl' });
    expect(sdxl.textEncoders.map((t) => t.component)).toEqual(['text_encoder', 'text_encoder_2']);
    expect(sdxl.sizeConditioning && sdxl.zeroNegativeWhenEmpty).toBe(true);
    expect(sdxl.schedulerConfig).toMatchObject({ timestep_spacing: 'leading', steps_offset: 1 });
  });
});

describe('ClipTokenizer.withPadToken', () => {
  // A vocabulary just big enough: byte chars for "a", "!", the word ends, and the specials.
  const vocab = { '!': 0, a: 1, 'a</w>': 2, '!</w>': 3, '<|startoftext|>': 4, '<|endoftext|>': 5 };
  const base = ClipTokenizer.fromVocabAndMerges(vocab, '#version: 0.2\n');

  it("pads with the pad token's id after one EOS, and splits every occurrence of the pad token out of the prompt", () => {
    expect(Array.from(base.encodePadded('a!', 6))).toEqual([4, 2, 3, 5, 5, 5]);
    const padded = base.withPadToken('!');
    expect(padded.padId).toBe(0);
    expect(Array.from(padded.encodePadded('a!', 6))).toEqual([4, 2, 0, 5, 0, 0]);
    expect(Array.from(padded.encodePadded('a!!a', 8))).toEqual([4, 2, 0, 0, 2, 5, 0, 0]);
  });

  it('refuses a pad token outside the vocabulary', () => {
    expect(() => base.withPadToken('<pad>')).toThrow(/lacks the pad token "<pad>"/);
  });
});
