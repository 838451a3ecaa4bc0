import { describe, expect, it } from 'vitest';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import type { ModelInfo } from '@kirie/core/client/protocol';
import { MockKirieClient } from '@kirie/core/client/mock';
import { GenerateRequest } from '@kirie/core/request/schema';
import { fastUnavailable } from '../src/fast.js';
import { checkBridgeSettings, optionsFromForm, type PanelForm, prepareForBridge, prepareRequest } from '../src/settings.js';

describe('optionsFromForm', () => {
  const ok: [string, PanelForm, object][] = [
    ['prompt only', { prompt: 'a kite' }, { prompt: 'a kite' }],
    ['empty fields are unset', { prompt: 'a', strength: ' ', steps: '', seed: '', negativePrompt: '  ', style: '' }, { prompt: 'a' }],
    ['numbers parsed', { prompt: 'a', strength: '0.4', steps: '12', seed: '42' }, { prompt: 'a', strength: 0.4, steps: 12, seed: 42 }],
    ['seed -1 = random', { prompt: 'a', seed: '-1' }, { prompt: 'a', seed: -1 }],
    ['strength 1 allowed', { prompt: 'a', strength: '1' }, { prompt: 'a', strength: 1 }],
    ['style, model, colour match', { prompt: '', style: 'mosaic', model: ' sd15 ', colorMatch: false }, { prompt: '', style: 'mosaic', model: 'sd15', colorMatch: false }],
    ['LoRA sliders in percent', { prompt: 'a', loras: [{ name: 'paper-cut', percent: '60' }, { name: 'ink', percent: '150' }] }, { prompt: 'a', loras: [{ name: 'paper-cut', weight: 0.6 }, { name: 'ink', weight: 1.5 }] }],
    ['a text-encoder weight apart (A1111 <lora:name:te:unet>)', { prompt: 'a', loras: [{ name: 'ink', percent: '80', textPercent: '30' }, { name: 'fog', percent: '50', textPercent: '50' }] }, { prompt: 'a', loras: [{ name: 'ink', weight: 0.8, textEncoderWeight: 0.3 }, { name: 'fog', weight: 0.5 }] }],
    ['no LoRA switched on', { prompt: 'a', loras: [] }, { prompt: 'a' }],
    ['Fast on', { prompt: 'a', fast: true }, { prompt: 'a', fast: true }],
    ['Fast off', { prompt: 'a', fast: false }, { prompt: 'a' }],
  ];
  it.each(ok)('%s', (_name, form, expected) => expect(optionsFromForm(form)).toEqual(expected));

  const bad: [string, PanelForm, RegExp][] = [
    ['strength 0', { prompt: 'a', strength: '0' }, /strength must be a number above 0 and at most 1, got "0"/],
    ['strength 1.5', { prompt: 'a', strength: '1.5' }, /strength must be/],
    ['strength text', { prompt: 'a', strength: 'half' }, /strength must be .* got "half"/],
    ['steps 0', { prompt: 'a', steps: '0' }, /steps must be a whole number from 1 to 150/],
    ['steps fractional', { prompt: 'a', steps: '2.5' }, /steps must be/],
    ['seed -2', { prompt: 'a', seed: '-2' }, /seed must be a whole number ≥ 0, or -1/],
    ['seed too large', { prompt: 'a', seed: '1e300' }, /seed must be/],
    ['LoRA weight above 150 %', { prompt: 'a', loras: [{ name: 'ink', percent: '160' }] }, /the weight of LoRA "ink" must be a percentage from 0 to 150, got "160"/],
    ['LoRA weight unset', { prompt: 'a', loras: [{ name: 'ink', percent: '' }] }, /the weight of LoRA "ink" is not set/],
    ['LoRA text-encoder weight out of range', { prompt: 'a', loras: [{ name: 'ink', percent: '80', textPercent: '-5' }] }, /the text-encoder weight of LoRA "ink" must be a percentage from 0 to 150, got "-5"/],
  ];
  it.each(bad)('%s', (_name, form, message) => expect(() => optionsFromForm(form)).toThrow(message));
});

describe('prepareRequest', () => {
  const loraStyle = { ...STYLE_PRESETS[0]!, id: 'lora:ink', name: 'ink (LoRA)', promptTemplate: '{prompt}, ink style', loras: [{ name: 'ink', weight: 0.7 }] };

  it("a style from the bridge's list brings its LoRA; a recipe's LoRAs come first; the slider's weight wins over the style's", () => {
    const p = prepareRequest({ prompt: 'a fox', style: 'lora:ink', loras: [{ name: 'ink', weight: 1.1 }, { name: 'glow', weight: 0.3 }], recipe: { loras: [{ name: 'old', weight: 0.5 }] } }, 1, [loraStyle]);
    expect(p.request.prompt).toBe('a fox, ink style');
    expect(p.request.loras).toEqual([{ name: 'old', weight: 0.5 }, { name: 'ink', weight: 1.1 }, { name: 'glow', weight: 0.3 }]);
    expect(p.label).toBe('ink');
    expect(prepareRequest({ prompt: 'a fox', style: 'lora:ink' }, 1, [loraStyle]).request.loras).toEqual([{ name: 'ink', weight: 0.7 }]);
    expect(() => prepareRequest({ prompt: 'a fox', style: 'lora:ink' }, 1)).toThrow(/unknown style "lora:ink"/);
  });

  it('prompt as typed: the flow default strength, a label from the prompt', () => {
    expect(prepareRequest({ prompt: '  a red kite over the sea at dusk, oil painting ' }, 1)).toEqual({
      request: { prompt: 'a red kite over the sea at dusk, oil painting', promptSyntax: 'a1111' },
      strength: 1,
      label: 'a red kite over the sea at dusk,',
      inpaint: {},
    });
  });

  it.each([
    ['kirie', 'paper-cut', 0.75, 25],
    ['pop-up-book', 'pop-up book', 0.75, 25],
    ['mosaic', 'mosaic', 0.8, 30],
    ['isometric-3d', 'isometric 3d', 0.7, 25],
  ])('style %s: its prompt, settings, strength and name', (style, label, strength, steps) => {
    const p = prepareRequest({ prompt: 'a fox', style }, 1);
    expect(p.label).toBe(label);
    expect(p.strength).toBe(strength);
    expect(p.request.steps).toBe(steps);
    expect(p.request.prompt).toMatch(/^a fox, /);
    expect(p.request.negativePrompt).toContain('watermark');
  });

  it("a style's settings follow the model's family: SDXL's guidance, steps and strength, SD 1.x's when the bridge names none", () => {
    const xl = STYLE_PRESETS.find((s) => s.id === 'photo')!.settings.sdxl;
    const p = prepareRequest({ prompt: 'a fox', style: 'photo' }, 1, STYLE_PRESETS, 'sdxl');
    expect(p.request).toMatchObject({ steps: xl.steps, guidance: xl.guidance, scheduler: xl.scheduler });
    expect(p.strength).toBe(xl.strength);
    expect(prepareRequest({ prompt: 'a fox', style: 'photo' }, 1, STYLE_PRESETS).request.guidance).toBe(6.5);
    expect(xl.guidance).not.toBe(6.5);
  });

  it('with a style, prepareForBridge reads the family of the model the form names (or the default) from the bridge', async () => {
    const checkpoint = (id: string, family: 'sd1' | 'sdxl'): ModelInfo => ({ id, name: id, kind: 'checkpoint', file: id, sizeBytes: 1, loaded: false, family });
    const client = new MockKirieClient({ models: [checkpoint('sd15.safetensors', 'sd1'), checkpoint('xl.safetensors', 'sdxl')] });
    const guidance = async (model?: string) => (await prepareForBridge(client, { prompt: 'a fox', style: 'kirie', ...(model ? { model } : {}) }, 1)).request.guidance;
    expect(await guidance('xl.safetensors')).toBe(STYLE_PRESETS[0]!.settings.sdxl.guidance);
    expect(await guidance('sd15.safetensors')).toBe(STYLE_PRESETS[0]!.settings.sd1.guidance);
    expect(await guidance()).toBe(STYLE_PRESETS[0]!.settings.sd1.guidance);
  });

  it('what the user sets wins over the style; negative prompts add up', () => {
    const p = prepareRequest({ prompt: 'a fox', style: 'mosaic', strength: 0.3, steps: 8, seed: 7, negativePrompt: 'dogs', model: 'm1', colorMatch: false }, 1);
    expect(p).toMatchObject({ strength: 0.3, inpaint: { colorMatch: false }, request: { steps: 8, seed: 7, model: 'm1', scheduler: 'euler_ancestral' } });
    expect(p.request.negativePrompt).toMatch(/grout|smooth/);
    expect(p.request.negativePrompt).toMatch(/, dogs$/);
  });

  it.each([
    ['no prompt and no style', { prompt: '  ' }, /type a prompt or pick a style/],
    ['unknown style', { prompt: 'a', style: 'cubism' }, /unknown style "cubism"; known styles: kirie, /],
    ['strength out of range', { prompt: 'a', strength: 2 }, /strength must be greater than 0 and at most 1, got 2/],
  ])('%s', (_name, options, message) => expect(() => prepareRequest(options, 1)).toThrow(message));
});

describe('Fast (DeepCache)', () => {
  it('Fast on: the request carries DeepCache every 3rd step at branch 0, which the bridge schema accepts; off: no acceleration at all', () => {
    const fast = prepareRequest({ prompt: 'a kite', fast: true }, 1).request;
    expect(fast.acceleration).toEqual({ deepCache: { interval: 3, branch: 0 } });
    expect(GenerateRequest.parse({ ...fast, width: 64, height: 64 }).acceleration).toEqual({ deepCache: { interval: 3, branch: 0 } });
    expect(prepareRequest({ prompt: 'a kite', fast: false }, 1).request).not.toHaveProperty('acceleration');
    expect(prepareRequest({ prompt: 'a kite' }, 1).request).not.toHaveProperty('acceleration');
  });

  it("names the jobs the bridge refuses DeepCache for: ControlNet units, and ONNX folders (no shallow UNet); the rest run", () => {
    expect(fastUnavailable({ control: true, modelKind: 'checkpoint' })).toMatch(/cannot be combined with a pose guide \(ControlNet\)/);
    expect(fastUnavailable({ control: false, modelKind: 'onnx' })).toMatch(/needs a checkpoint Kirie builds itself \(\.safetensors\)/);
    expect(fastUnavailable({ control: false, modelKind: 'checkpoint' })).toBeUndefined();
    expect(fastUnavailable({ control: false })).toBeUndefined();
    // The bridge's own word on the ControlNet case.
    const withControl = GenerateRequest.safeParse({ prompt: 'a', width: 64, height: 64, acceleration: { deepCache: { interval: 3 } }, control: [{ model: 'pose', pose: { people: [] } }] });
    expect(withControl.success).toBe(false);
    expect(JSON.stringify(withControl.error?.issues)).toMatch(/DeepCache cannot be combined with control units/);
  });
});

describe('checkBridgeSettings', () => {
  it.each([
    ['http://127.0.0.1:7860', 'http://127.0.0.1:7860'],
    ['http://localhost:7869/', 'http://localhost:7869'],
    ['  ', 'http://127.0.0.1:7860'],
  ])('%s → %s', (url, expected) => expect(checkBridgeSettings({ url, token: ' t0k ' })).toEqual({ url: expected, token: 't0k' }));

  it.each([
    ['https://127.0.0.1:7860', /bridge URL must look like/],
    ['http://example.com:7860', /bridge URL must look like/],
    ['http://127.0.0.1:7860/v1', /no path/],
    ['http://127.0.0.1:9000', /port 9000 is not one the plugin may connect to: .* lists, 7860–7869\. Start the bridge on one of them \(`kirie serve --port 7860`\)/],
    ['http://localhost', /port 80 is not one/],
  ])('refuses %s', (url, message) => expect(() => checkBridgeSettings({ url, token: 't' })).toThrow(message));

  it('an empty token says where to get one', () => {
    expect(() => checkBridgeSettings({ url: '', token: ' ' })).toThrow(/run `kirie token`/);
  });
});
