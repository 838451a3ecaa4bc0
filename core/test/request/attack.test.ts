// The request schema against hostile and careless input: unknown keys at every level, deep and wide
// poses, every schedulerConfig bound, and img2img strength × steps, each refused naming its field.
import { describe, expect, it } from 'vitest';
import { BETA_SCHEDULES } from '../../src/schedulers/betas.js';
import { SCHEDULERS } from '../../src/schedulers/registry.js';
import { validateGenerateRequest } from '../../src/request/parse.js';
import { MAX_POSE_PEOPLE } from '../../src/request/schema.js';
import { MAX_TRAIN_TIMESTEPS } from '../../src/request/scheduler-config.js';

const id = 'a'.repeat(64);
const base = { prompt: 'a fox', width: 64, height: 64, steps: 20, seed: 1 };
const person = { pose_keypoints_2d: new Array(54).fill(0) };
const pose = { canvas_width: 64, canvas_height: 64, people: [person] };

function fields(input: Record<string, unknown>): string[] {
  const result = validateGenerateRequest({ ...base, ...input });
  return result.ok ? [] : result.errors.map((e) => e.field);
}

function accepted(input: Record<string, unknown>): boolean {
  return validateGenerateRequest({ ...base, ...input }).ok;
}

describe('unknown keys are refused at every level, naming the key', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['request', { extra: 1 }, 'extra'],
    ['control unit', { control: [{ model: 'cn', image: id, extra: 1 }] }, 'control.0.extra'],
    ['preprocessor none', { control: [{ model: 'cn', image: id, preprocessor: { type: 'none', extra: 1 } }] }, 'control.0.preprocessor.extra'],
    ['preprocessor canny', { control: [{ model: 'cn', image: id, preprocessor: { type: 'canny', extra: 1 } }] }, 'control.0.preprocessor.extra'],
    ['preprocessor openpose', { control: [{ model: 'cn', image: id, preprocessor: { type: 'openpose', extra: 1 } }] }, 'control.0.preprocessor.extra'],
    ['pose', { control: [{ model: 'cn', pose: { ...pose, extra: 1 } }] }, 'control.0.pose.extra'],
    ['pose person', { control: [{ model: 'cn', pose: { ...pose, people: [{ ...person, extra: { a: 1 } }] } }] }, 'control.0.pose.people.0.extra'],
    ['inpaint options', { initImage: id, mask: id, inpaint: { extra: 1 } }, 'inpaint.extra'],
    ['schedulerConfig', { schedulerConfig: { _class_name: 'EulerDiscreteScheduler' } }, 'schedulerConfig._class_name'],
  ];
  it.each(cases)('%s', (_name, input, field) => {
    expect(fields(input)).toContain(field);
  });

  it('names every unknown key of one object', () => {
    expect(fields({ a: 1, b: 2 })).toEqual(['a', 'b']);
  });
});

/** A value nested `depth` levels: {"a":{"a":…}} or [[…]]. */
function nested(depth: number, kind: 'object' | 'array'): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = kind === 'object' ? { a: v } : [v];
  return v;
}

describe('a pose is OpenPose JSON and nothing deeper', () => {
  it.each(['object', 'array'] as const)('a 10 000-level %s inside a pose is refused without walking it', (kind) => {
    const deep = nested(10_000, kind);
    // The old loose pose schema kept this value, and JSON.stringify of the job then threw (RangeError).
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const result = validateGenerateRequest({ ...base, control: [{ model: 'cn', pose: { ...pose, people: [{ ...person, deep }] } }] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field)).toContain('control.0.pose.people.0.deep');
  });

  it('a deep value where a keypoint array belongs is refused', () => {
    expect(fields({ control: [{ model: 'cn', pose: { ...pose, people: [{ pose_keypoints_2d: [nested(5000, 'array')] }] } }] })).toContain('control.0.pose.people.0.pose_keypoints_2d.0');
  });

  it(`accepts ${MAX_POSE_PEOPLE} people and refuses one more`, () => {
    const people = (n: number) => Array.from({ length: n }, () => person);
    expect(accepted({ control: [{ model: 'cn', pose: { ...pose, people: people(MAX_POSE_PEOPLE) } }] })).toBe(true);
    expect(fields({ control: [{ model: 'cn', pose: { ...pose, people: people(MAX_POSE_PEOPLE + 1) } }] })).toEqual(['control.0.pose.people']);
  });

  it.each([
    ['pose_keypoints_2d', 25 * 3],
    ['hand_left_keypoints_2d', 21 * 3],
    ['hand_right_keypoints_2d', 21 * 3],
    ['face_keypoints_2d', 70 * 3],
    ['pose_keypoints_3d', 25 * 4],
    ['face_keypoints_3d', 70 * 4],
  ])('%s holds at most %i numbers', (key, max) => {
    const withKey = (n: number) => ({ control: [{ model: 'cn', pose: { ...pose, people: [{ ...person, [key]: new Array(n).fill(0) }] } }] });
    expect(fields(withKey(max + 1))).toContain(`control.0.pose.people.0.${key}`);
    // At the bound the schema is satisfied; the pose parser may still refuse a count it cannot draw.
    expect(fields(withKey(max))).not.toContain(`control.0.pose.people.0.${key}`);
  });

  it('accepts what OpenPose itself writes (version, person_id, empty 3-D lists) and a BODY_25 body', () => {
    const openpose = {
      version: 1.3,
      people: [{ person_id: [-1], pose_keypoints_2d: new Array(75).fill(1), face_keypoints_2d: [], hand_left_keypoints_2d: [], hand_right_keypoints_2d: [], pose_keypoints_3d: [], face_keypoints_3d: [], hand_left_keypoints_3d: [], hand_right_keypoints_3d: [] }],
    };
    expect(accepted({ control: [{ model: 'cn', pose: openpose }] })).toBe(true);
  });

  it.each([
    ['a non-finite keypoint', { ...pose, people: [{ pose_keypoints_2d: ['1e999'] }] }, 'control.0.pose.people.0.pose_keypoints_2d.0'],
    ['a canvas beyond 16384', { ...pose, canvas_width: 16_385 }, 'control.0.pose.canvas_width'],
    ['a fractional canvas', { ...pose, canvas_height: 64.5 }, 'control.0.pose.canvas_height'],
    ['people not an array', { ...pose, people: { 0: person } }, 'control.0.pose.people'],
  ])('refuses %s', (_name, bad, field) => {
    expect(fields({ control: [{ model: 'cn', pose: bad }] })).toContain(field);
  });
});

describe('schedulerConfig is validated at submit, every number bounded', () => {
  const refused: [string, Record<string, unknown>, string, RegExp][] = [
    ['unknown beta_schedule', { beta_schedule: 'cosine' }, 'schedulerConfig.beta_schedule', /linear/],
    ['negative beta_start', { beta_start: -0.001 }, 'schedulerConfig.beta_start', /greater than 0/],
    ['beta_end of 1', { beta_end: 1 }, 'schedulerConfig.beta_end', /less than 1/],
    ['beta_start above beta_end', { beta_start: 0.02, beta_end: 0.01 }, 'schedulerConfig.beta_end', /beta_start/],
    ['num_train_timesteps 0', { num_train_timesteps: 0 }, 'schedulerConfig.num_train_timesteps', /at least 1/],
    ['num_train_timesteps just over', { num_train_timesteps: MAX_TRAIN_TIMESTEPS + 1 }, 'schedulerConfig.num_train_timesteps', /at most/],
    ['num_train_timesteps 1e9', { num_train_timesteps: 1e9 }, 'schedulerConfig.num_train_timesteps', /at most/],
    ['fractional num_train_timesteps', { num_train_timesteps: 999.5 }, 'schedulerConfig.num_train_timesteps', /integer/],
    ['negative steps_offset', { steps_offset: -1 }, 'schedulerConfig.steps_offset', /at least 0/],
    ['steps_offset past the schedule', { steps_offset: 100 }, 'schedulerConfig.steps_offset', /outside \[0, 1000\)/],
    ['unknown prediction_type', { prediction_type: 'x0' }, 'schedulerConfig.prediction_type', /epsilon/],
    ['unknown timestep_spacing', { timestep_spacing: 'uniform' }, 'schedulerConfig.timestep_spacing', /leading/],
    ['string for a number', { beta_start: '0.1' }, 'schedulerConfig.beta_start', /number/],
    ['number for a boolean', { clip_sample: 1 }, 'schedulerConfig.clip_sample', /boolean/],
    ['zero clip_sample_range', { clip_sample_range: 0 }, 'schedulerConfig.clip_sample_range', /greater than 0/],
    ['huge sample_max_value', { sample_max_value: 1e6 }, 'schedulerConfig.sample_max_value', /at most 1000/],
    ['sigma_min above sigma_max', { sigma_min: 5, sigma_max: 1 }, 'schedulerConfig.sigma_max', /sigma_min/],
    ['negative sigma_max', { sigma_max: -1 }, 'schedulerConfig.sigma_max', /greater than 0/],
    ['solver_order 3', { solver_order: 3 }, 'schedulerConfig.solver_order', /at most 2/],
    ['trained_betas as an array', { trained_betas: [0.1] }, 'schedulerConfig.trained_betas', /null/],
    ['thresholding on (unsupported)', { thresholding: true }, 'schedulerConfig.thresholding', /not supported/],
    ['an array value', { beta_schedule: ['linear'] }, 'schedulerConfig.beta_schedule', /./],
    ['a nested object', { timestep_spacing: { a: { b: 1 } } }, 'schedulerConfig.timestep_spacing', /./],
  ];
  it.each(refused)('refuses %s', (_name, config, field, message) => {
    const result = validateGenerateRequest({ ...base, scheduler: 'ddim', schedulerConfig: config });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toMatch(message);
  });

  it('refuses what only the named scheduler refuses, under its key', () => {
    expect(fields({ scheduler: 'euler_a', schedulerConfig: { prediction_type: 'sample' } })).toEqual(['schedulerConfig.prediction_type']);
    expect(fields({ scheduler: 'pndm', schedulerConfig: { skip_prk_steps: false } })).toEqual(['schedulerConfig.skip_prk_steps']);
    expect(fields({ scheduler: 'lcm', schedulerConfig: { original_inference_steps: 2000 } })).toEqual(['steps']);
    expect(fields({ scheduler: 'lcm', steps: 60 })).toEqual(['steps']);
  });

  it.each(SCHEDULERS.map((s) => s.name))('%s accepts its bounds and every beta schedule', (name) => {
    for (const beta_schedule of BETA_SCHEDULES) expect(accepted({ scheduler: name, steps: 8, schedulerConfig: { beta_schedule } }), beta_schedule).toBe(true);
    expect(accepted({ scheduler: name, steps: 8, schedulerConfig: { num_train_timesteps: MAX_TRAIN_TIMESTEPS } })).toBe(true);
  });

  it('accepts the full effective config diffusers reports for SD1.5 Euler', () => {
    const euler = {
      num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', trained_betas: null, prediction_type: 'epsilon',
      interpolation_type: 'linear', use_karras_sigmas: false, sigma_min: null, sigma_max: null, timestep_spacing: 'linspace', timestep_type: 'discrete',
      steps_offset: 1, set_alpha_to_one: false, clip_sample: false, skip_prk_steps: true,
    };
    expect(accepted({ scheduler: 'euler', schedulerConfig: euler })).toBe(true);
  });
});

describe('img2img strength × steps leaves at least one step', () => {
  // img2imgTimesteps runs int(steps × strength) steps: 20 × 0.05 = 1, 20 × 0.0499 = 0.998 → 0.
  it.each([
    [20, 0.05, true],
    [20, 0.0499, false],
    [1, 1, true],
    [3, 0.3, false],
    [100, 0.01, true],
    [100, 0.0099, false],
  ])('%i steps at strength %f → accepted %s', (steps, strength, ok) => {
    const result = validateGenerateRequest({ ...base, steps, strength, initImage: id });
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.errors).toEqual([{ field: 'strength', message: expect.stringMatching(/leaves 0 denoising steps/) }]);
  });

  it('does not apply without an init image (txt2img runs every step)', () => {
    expect(accepted({ steps: 20, strength: 0.01 })).toBe(true);
  });
});
