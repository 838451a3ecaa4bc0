import { describe, expect, it } from 'vitest';
import { parseGenerateRequest } from '../../src/request/parse';
import { SD15_RESOLUTION } from '../../src/image/options';
import { FAMILIES, type FamilyId } from '../../src/models/family';
import { applyStyle, findStyle, STYLE_PRESETS, styleSettings } from '../../src/styles/presets';

describe('style presets', () => {
  it('has the issue’s styles, each with unique id and a {prompt} slot', () => {
    expect(STYLE_PRESETS.map((s) => s.id)).toEqual(expect.arrayContaining(['kirie', 'pop-up-book', 'mosaic', 'isometric-3d', 'watercolour', 'line-art', 'photo']));
    expect(new Set(STYLE_PRESETS.map((s) => s.id)).size).toBe(STYLE_PRESETS.length);
    for (const s of STYLE_PRESETS) expect(s.promptTemplate.split('{prompt}')).toHaveLength(2);
  });

  it.each(STYLE_PRESETS.map((s) => [s.id, s]))('%s makes a valid request with its settings for every family', (_id, style) => {
    const { prompt, negativePrompt } = applyStyle(style, 'a red fox');
    for (const family of Object.keys(FAMILIES) as FamilyId[]) {
      const request = parseGenerateRequest({ prompt, negativePrompt, ...styleSettings(style, family) });
      expect(request.prompt.startsWith('a red fox, ')).toBe(true);
      expect(request.negativePrompt).toBe(style.negativePrompt);
    }
  });

  it.each(STYLE_PRESETS.map((s) => [s.id, s]))("%s: each family's size is native to it (SDXL about 1024² pixels, sides in multiples of 64)", (_id, style) => {
    for (const family of Object.keys(FAMILIES) as FamilyId[]) {
      const { width, height } = styleSettings(style, family);
      const { multiple } = FAMILIES[family].resolution;
      expect([width % multiple, height % multiple]).toEqual([0, 0]);
    }
    const sd1 = styleSettings(style, 'sd1');
    expect(Math.min(sd1.width, sd1.height)).toBe(SD15_RESOLUTION.minSide);
    expect(Math.max(sd1.width, sd1.height)).toBeLessThanOrEqual(SD15_RESOLUTION.maxSide);
    // SDXL's buckets keep the pixel count, not the short side (832×1216).
    const xl = styleSettings(style, 'sdxl');
    expect(Math.abs(xl.width * xl.height - 1024 * 1024) / (1024 * 1024)).toBeLessThan(0.05);
    expect(xl.guidance).toBeLessThan(styleSettings(style, 'sd1').guidance);
  });

  it('a model of no listed family (an ONNX folder) gets the SD 1.x settings', () => {
    expect(styleSettings(findStyle('photo'), undefined)).toBe(findStyle('photo').settings.sd1);
  });

  it.each([
    ['  a fox  ', 'a fox, paper-cut art'],
    ['', 'paper-cut art'],
  ])('applyStyle(%j) starts with %j', (prompt, start) => {
    expect(applyStyle(findStyle('kirie'), prompt).prompt.startsWith(start)).toBe(true);
  });

  it('names the known styles when asked for an unknown one', () => {
    expect(() => findStyle('vaporwave')).toThrow(/unknown style "vaporwave"; known styles: kirie, pop-up-book/);
  });
});
