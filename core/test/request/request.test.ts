import { describe, expect, it } from 'vitest';
import { DEFAULT_INPAINT_OPTIONS } from '../../src/image/options.js';
import { findScheduler, SCHEDULERS } from '../../src/schedulers/registry.js';
import { imageSeed, parseGenerateRequest, RequestValidationError, validateGenerateRequest, withResolvedSeed } from '../../src/request/parse.js';

const minimal = { model: 'tiny', prompt: 'a red fox', width: 64, height: 64, steps: 2, seed: 1 };
const id = 'a'.repeat(64);

describe('GenerateRequest defaults', () => {
  it('completes the minimal request from the issue', () => {
    const r = parseGenerateRequest(minimal);
    expect(r).toEqual({
      model: 'tiny',
      prompt: 'a red fox',
      negativePrompt: '',
      width: 64,
      height: 64,
      steps: 2,
      scheduler: (findScheduler('dpmpp_2m_karras') ?? SCHEDULERS[0]).name,
      schedulerConfig: {},
      guidance: 7.5,
      seed: 1,
      noiseSource: 'torch-cpu',
      batchSize: 1,
      clipSkip: 1,
      strength: 0.75,
      control: [],
    });
  });

  it('fills control unit and inpaint defaults', () => {
    const r = parseGenerateRequest({ ...minimal, initImage: id, mask: id, inpaint: {}, control: [{ model: 'cn', image: id }] });
    expect(r.control[0]).toEqual({ model: 'cn', image: id, preprocessor: { type: 'none' }, scale: 1, start: 0, end: 1 });
    expect(r.inpaint).toEqual(DEFAULT_INPAINT_OPTIONS);
    const canny = parseGenerateRequest({ ...minimal, control: [{ model: 'cn', image: id, preprocessor: { type: 'canny' } }] });
    expect(canny.control[0].preprocessor).toEqual({ type: 'canny', low: 100, high: 200 });
  });

  it('survives a JSON round trip unchanged', () => {
    const r = parseGenerateRequest({ ...minimal, initImage: id, control: [{ model: 'cn', image: id, scale: 0.5 }] });
    expect(parseGenerateRequest(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it('keeps the mannequin scene a pose was projected from, for re-posing', () => {
    const mannequin = { figures: [{ position: [0, 0.95, 0], rotations: { right_elbow: [-90, 0, 0] } }], camera: { position: [0, 1, 4.2], target: [0, 0.9, 0], fov: 40 } };
    const r = parseGenerateRequest({ ...minimal, control: [{ model: 'cn', pose: { canvas_width: 64, canvas_height: 64, people: [{ pose_keypoints_2d: new Array(54).fill(0) }] }, mannequin }] });
    expect(r.control[0]!.mannequin).toEqual(mannequin);
    expect(parseGenerateRequest(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });
});

const pose = { canvas_width: 64, canvas_height: 64, people: [{ pose_keypoints_2d: new Array(54).fill(0) }] };

const bad: [string, Record<string, unknown>, string, RegExp][] = [
  ['no prompt', { model: 'm' }, 'prompt', /expected string/i],
  ['width not multiple of 8', { width: 100 }, 'width', /multiple of 8/],
  ['height too small', { height: 32 }, 'height', /at least 64/],
  ['height fractional', { height: 64.5 }, 'height', /integer/],
  ['zero steps', { steps: 0 }, 'steps', /1/],
  ['unknown scheduler', { scheduler: 'heun' }, 'scheduler', /unknown scheduler; known: .*ddim/],
  ['strength 0', { strength: 0 }, 'strength', /greater than 0/],
  ['strength above 1', { strength: 1.5 }, 'strength', /1/],
  ['seed below -1', { seed: -2 }, 'seed', /-1/],
  ['seed overflowing with batch', { seed: Number.MAX_SAFE_INTEGER, batchSize: 2 }, 'seed', /must not exceed/],
  ['mask without init image', { mask: id }, 'mask', /needs an initImage/],
  ['inpaint without mask', { initImage: id, inpaint: {} }, 'inpaint', /need a mask/],
  ['image id with a slash', { initImage: '../etc' }, 'initImage', /image id/],
  ['clip skip 0', { clipSkip: 0 }, 'clipSkip', /1/],
  ['empty model', { model: '' }, 'model', /must not be empty/],
  ['control without image or pose', { control: [{ model: 'cn' }] }, 'control.0.image', /exactly one/],
  ['control with both', { control: [{ model: 'cn', image: id, pose }] }, 'control.0.image', /exactly one/],
  ['control start after end', { control: [{ model: 'cn', image: id, start: 0.8, end: 0.2 }] }, 'control.0.end', /greater than start/],
  ['control scale negative', { control: [{ model: 'cn', image: id, scale: -1 }] }, 'control.0.scale', /0/],
  ['pose with preprocessor', { control: [{ model: 'cn', pose, preprocessor: { type: 'canny' } }] }, 'control.0.preprocessor', /pose/],
  ['pose with short keypoints', { control: [{ model: 'cn', pose: { ...pose, people: [{ pose_keypoints_2d: [1, 2, 3] }] } }] }, 'control.0.pose', /expected 18 points/],
  ['mannequin scene without its pose', { control: [{ model: 'cn', image: id, mannequin: { figures: [{ position: [0, 1, 0], rotations: {} }], camera: { position: [0, 1, 4], target: [0, 1, 0], fov: 40 } } }] }, 'control.0.mannequin', /comes with the pose/],
  ['mannequin joint unknown', { control: [{ model: 'cn', pose, mannequin: { figures: [{ position: [0, 1, 0], rotations: { tail: [0, 0, 0] } }], camera: { position: [0, 1, 4], target: [0, 1, 0], fov: 40 } } }] }, 'control.0.mannequin.figures.0.rotations.tail', /./],
  ['mannequin camera fov 180', { control: [{ model: 'cn', pose, mannequin: { figures: [{ position: [0, 1, 0], rotations: {} }], camera: { position: [0, 1, 4], target: [0, 1, 0], fov: 180 } } }] }, 'control.0.mannequin.camera.fov', /180/],
  ['canny low above high', { control: [{ model: 'cn', image: id, preprocessor: { type: 'canny', low: 200, high: 100 } }] }, 'control.0.preprocessor.low', /exceed/],
];

describe('GenerateRequest validation', () => {
  it.each(bad)('%s → error on %s', (_name, patch, field, message) => {
    const input = { ...minimal, ...patch } as Record<string, unknown>;
    if (_name === 'no prompt') delete input.prompt;
    const result = validateGenerateRequest(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error?.message).toMatch(message);
  });

  it('throws one error naming every bad field', () => {
    try {
      parseGenerateRequest({ ...minimal, width: 65, mask: id });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RequestValidationError);
      expect((err as RequestValidationError).errors.map((e) => e.field).sort()).toEqual(['mask', 'width']);
      expect((err as Error).message).toMatch(/width: width must be a multiple of 8/);
    }
  });

  it('reports a cross-field error alone when the fields are valid', () => {
    const result = validateGenerateRequest({ ...minimal, mask: id });
    expect(result.ok ? [] : result.errors).toEqual([{ field: 'mask', message: 'a mask needs an initImage to repaint' }]);
  });
});

describe('seeds', () => {
  it('gives image i of a batch seed + i', () => {
    expect([0, 1, 2].map((i) => imageSeed({ seed: 41 }, i))).toEqual([41, 42, 43]);
    expect(() => imageSeed({ seed: -1 }, 0)).toThrow(/resolved/);
  });

  it('resolves -1 to a concrete 32-bit seed and keeps a given one', () => {
    const r = parseGenerateRequest({ prompt: 'x' });
    expect(withResolvedSeed(r, () => 0.5).seed).toBe(2 ** 31);
    expect(withResolvedSeed({ ...r, seed: 7 }, () => 0.5).seed).toBe(7);
  });
});
