// Full and img2img denoising loops with the reference dummy model, every step compared.
import { describe, expect, it } from 'vitest';
import { runLoop, type LoopCase } from '../../src/schedulers/conformance.js';
import { LOOP_ATOL, LOOP_RTOL, cases, closeness, loadArray, unstack } from './golden.js';

const xT = loadArray('x_T.npy');
const loopDir = (file: string): string => `loops/${file}`;

function checkLoop(loop: LoopCase): void {
  const noise = loop.files.noise ? unstack(loadArray(loopDir(loop.files.noise))) : undefined;
  const start = loop.start ? loadArray(loop.start).data : undefined;
  const record = runLoop(cases, loop, { xT: xT.data, start, noise }, xT.shape);
  expect(record.noiseUsed).toBe(loop.noise_tensors_used);
  for (const name of ['model_input', 'model_output', 'prev_sample', 'pred_original_sample'] as const) {
    const file = loop.files[name];
    if (!file) continue;
    const expected = unstack(loadArray(loopDir(file)));
    expect(record[name], `${name} steps`).toHaveLength(expected.length);
    expected.forEach((row, step) => {
      const { excess, maxAbs } = closeness(record[name][step], row, LOOP_ATOL, LOOP_RTOL);
      expect(excess, `${name} step ${step}: max |diff| ${maxAbs}`).toBeLessThanOrEqual(0);
    });
  }
}

describe('scheduler loops (diffusers 0.24.0)', () => {
  it('covers 54 full loops and 48 img2img loops', () => {
    expect(cases.loops).toHaveLength(54);
    expect(cases.img2img.loops).toHaveLength(48);
  });
  it.each(cases.loops.map((l) => [l.id, l] as const))('%s', (_id, loop) => checkLoop(loop));
  it.each(cases.img2img.loops.map((l) => [l.id, l] as const))('%s', (_id, loop) => checkLoop(loop));
});
