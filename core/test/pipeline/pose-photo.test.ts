// A reference photo as a control input: the openpose preprocessor's request validation, its run through
// generateFromRequest with an injected (fake) detector, and its A1111 recipe text.
import { beforeEach, describe, expect, it } from 'vitest';
import type { PoseDetector } from '../../src/control/detector.js';
import type { Keypoint, PoseDocument } from '../../src/control/openpose.js';
import { renderPose } from '../../src/control/render.js';
import type { RasterImage } from '../../src/image/png.js';
import { generateFromRequest, type RequestDeps } from '../../src/pipeline/request.js';
import { formatA1111, modulePreprocessor, parseA1111 } from '../../src/recipe/a1111.js';
import { parseGenerateRequest, validateGenerateRequest } from '../../src/request/parse.js';
import { fakeControlNet, fakeDeps, live } from './fakes.js';

const id = 'b'.repeat(64);
const minimal = { model: 'fake', prompt: 'a dancer', width: 64, height: 64, steps: 2, scheduler: 'ddim', seed: 1 };
const photo: RasterImage = { width: 96, height: 128, channels: 3, data: new Uint8Array(96 * 128 * 3).fill(90) };

const kp = (x: number, y: number): Keypoint => ({ x, y, confidence: 0.9 });
const body = [kp(0.5, 0.2), kp(0.5, 0.35), kp(0.35, 0.35), kp(0.3, 0.55), null, kp(0.65, 0.35), kp(0.7, 0.55), null, kp(0.4, 0.7), null, null, kp(0.6, 0.7), null, null, kp(0.47, 0.18), kp(0.53, 0.18), null, null];
const hand = Array.from({ length: 21 }, (_, i) => kp(0.3 + (i % 5) * 0.01, 0.55 + Math.floor(i / 5) * 0.01));

/** Returns `people` for any image, remembering the images it was shown. */
function fakeDetector(people: PoseDocument['people']): PoseDetector & { seen: RasterImage[] } {
  const seen: RasterImage[] = [];
  return { name: 'fake', seen, detect: async (image) => (seen.push(image), { width: image.width, height: image.height, people }) };
}

const deps = (patch: Partial<RequestDeps> = {}) => fakeDeps(new Map([[id, photo]]), patch);

const openposeUnit = (preprocessor: Record<string, unknown> = { type: 'openpose' }) => ({ model: 'cn-openpose', image: id, preprocessor });

beforeEach(() => live.clear());

describe('openpose preprocessor in a GenerateRequest', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['defaults to body only', { type: 'openpose' }, { type: 'openpose', full: false }],
    ['full draws hands and face', { type: 'openpose', full: true }, { type: 'openpose', full: true }],
    ['explicitly not full', { type: 'openpose', full: false }, { type: 'openpose', full: false }],
  ])('%s', (_name, preprocessor, expected) => {
    expect(parseGenerateRequest({ ...minimal, control: [openposeUnit(preprocessor)] }).control[0]!.preprocessor).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['full not a boolean', openposeUnit({ type: 'openpose', full: 'yes' }), 'control.0.preprocessor.full', /boolean/],
    ['a pose with the openpose preprocessor', { model: 'cn', pose: { people: [] }, preprocessor: { type: 'openpose' } }, 'control.0.preprocessor', /pose is rendered directly/],
    ['openpose without a photo', { model: 'cn', preprocessor: { type: 'openpose' } }, 'control.0.image', /exactly one of image or pose/],
    ['an unknown preprocessor', { model: 'cn', image: id, preprocessor: { type: 'depth' } }, 'control.0.preprocessor.type', /openpose/],
  ])('%s → error on %s', (_name, unit, field, message) => {
    const result = validateGenerateRequest({ ...minimal, control: [unit] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toMatch(message);
  });
});

describe('generateFromRequest with a reference photo', () => {
  async function hintFor(preprocessor: Record<string, unknown>, detector: PoseDetector): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const net = fakeControlNet([8, 8]);
    await generateFromRequest(parseGenerateRequest({ ...minimal, control: [openposeUnit(preprocessor)] }), deps({ controlNet: async () => net, poseDetector: detector }));
    expect(live.size).toBe(0);
    const hint = net.session.calls[0]!.controlnet_cond!;
    return { data: hint.data as Float32Array, dims: hint.dims };
  }

  /** The CFG batch's first control image back in bytes, HWC. */
  function hintBytes(hint: { data: Float32Array; dims: readonly number[] }): Uint8Array {
    const [, c, h, w] = hint.dims as [number, number, number, number];
    const out = new Uint8Array(h * w * c);
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[i * c + ch] = Math.round(hint.data[ch * h * w + i]! * 255);
    return out;
  }

  it('detects on the photo at its own size and draws the pose exactly as the renderer does at the generation size', async () => {
    const detector = fakeDetector([{ body }]);
    const hint = await hintFor({ type: 'openpose' }, detector);
    expect(detector.seen).toEqual([photo]);
    expect(hint.dims).toEqual([2, 3, 64, 64]);
    const expected = renderPose({ width: 64, height: 64, people: [{ body }] });
    expect(hintBytes(hint)).toEqual(expected.data);
    expect(expected.data.some((v) => v > 0)).toBe(true);
  });

  it('draws the hands only when full', async () => {
    const people = [{ body, leftHand: hand }];
    const bodyOnly = hintBytes(await hintFor({ type: 'openpose' }, fakeDetector(people)));
    const full = hintBytes(await hintFor({ type: 'openpose', full: true }, fakeDetector(people)));
    expect(bodyOnly).toEqual(renderPose({ width: 64, height: 64, people }).data);
    expect(full).toEqual(renderPose({ width: 64, height: 64, people }, { hands: true, face: true }).data);
    expect(full).not.toEqual(bodyOnly);
  });

  it('tells the designer when the photo has nobody in it', async () => {
    await expect(hintFor({ type: 'openpose' }, fakeDetector([]))).rejects.toThrow(/no person found in the reference photo/);
  });

  it('names the missing detector', async () => {
    const request = parseGenerateRequest({ ...minimal, control: [openposeUnit()] });
    await expect(generateFromRequest(request, deps())).rejects.toThrow(/no pose detector.*openpose preprocessor/);
  });
});

describe('openpose in the A1111 recipe text', () => {
  const ctx = { seed: 1, modelName: 'v1-5' };

  it.each<[string, Record<string, unknown>, string]>([
    ['body', { type: 'openpose' }, 'openpose'],
    ['full', { type: 'openpose', full: true }, 'openpose_full'],
    ['canny', { type: 'canny', low: 50, high: 150 }, 'canny'],
    ['none', { type: 'none' }, 'none'],
  ])('writes %s as sd-webui-controlnet module %s and reads it back', (_name, preprocessor, module) => {
    const request = parseGenerateRequest({ ...minimal, control: [{ ...openposeUnit(preprocessor), scale: 0.5 }] });
    const text = formatA1111(request, ctx);
    expect(text).toContain(`ControlNet 0: "Module: ${module}, Model: cn-openpose, Weight: 0.5`);
    const [control] = parseA1111(text).control;
    expect(control!.module).toBe(module);
    expect(modulePreprocessor(control!)).toEqual(request.control[0]!.preprocessor);
  });

  it.each<[string, object | undefined]>([
    ['OpenPose_Full', { type: 'openpose', full: true }],
    ['depth_midas', undefined],
    ['dw_openpose_full', undefined],
  ])('maps module %s', (module, expected) => {
    expect(modulePreprocessor({ model: 'cn', module, scale: 1, start: 0, end: 1 })).toEqual(expected);
  });
});
