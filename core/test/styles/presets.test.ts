import { describe, expect, it } from 'vitest';
import { parseGenerateRequest } from '../../src/request/parse';
import { applyStyle, findStyle, STYLE_PRESETS } from '../../src/styles/presets';

describe('style presets', () => {
  it('has the issue’s styles, each with unique id and a {prompt} slot', () => {
    expect(STYLE_PRESETS.map((s) => s.id)).toEqual(expect.arrayContaining(['kirie', 'pop-up-book', 'mosaic', 'isometric-3d', 'watercolour', 'line-art', 'photo']));
    expect(new Set(STYLE_PRESETS.map((s) => s.id)).size).toBe(STYLE_PRESETS.length);
    for (const s of STYLE_PRESETS) expect(s.promptTemplate.split('{prompt}')).toHaveLength(2);
  });

  it.each(STYLE_PRESETS.map((s) => [s.id, s]))('%s makes a valid request with its settings', (_id, style) => {
    const { prompt, negativePrompt } = applyStyle(style, 'a red fox');
    const request = parseGenerateRequest({ prompt, negativePrompt, ...style.settings });
    expect(request.prompt.startsWith('a red fox, ')).toBe(true);
    expect(request.negativePrompt).toBe(style.negativePrompt);
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
