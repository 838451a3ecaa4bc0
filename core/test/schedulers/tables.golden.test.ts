// Every entry of the reference timestep/sigma tables: ints exact, floats within rel 1e-6.
import { describe, expect, it } from 'vitest';
import { configMismatches, referenceScheduler } from '../../src/schedulers/conformance.js';
import { TABLE_RTOL, cases, closeness } from './golden.js';

const entries = Object.entries(cases.tables).flatMap(([key, table]) =>
  Object.entries(table.by_steps).map(([n, entry]) => ({ key, n: Number(n), entry, table })),
);

describe('scheduler tables (diffusers 0.24.0)', () => {
  it('covers all 24 variant/spacing tables', () => {
    expect(Object.keys(cases.tables)).toHaveLength(24);
  });

  it.each(Object.entries(cases.tables))('%s uses the reference effective config and order', (key, table) => {
    const [variant, spacing] = key.split('/');
    const scheduler = referenceScheduler(cases, variant, spacing);
    expect(configMismatches(scheduler, table.effective_config)).toEqual([]);
    expect(scheduler.order).toBe(table.order);
  });

  it.each(entries.map((e) => [`${e.key} n=${e.n}`, e] as const))('%s', (_name, { key, n, entry }) => {
    const [variant, spacing] = key.split('/');
    const scheduler = referenceScheduler(cases, variant, spacing);
    scheduler.setTimesteps(n);
    expect(scheduler.timestepsDtype).toBe(entry.timesteps_dtype);
    if (entry.timesteps_dtype === 'int64') expect(scheduler.timesteps).toEqual(entry.timesteps);
    else expect(closeness(scheduler.timesteps, entry.timesteps, 0, TABLE_RTOL).excess).toBeLessThanOrEqual(0);
    expect(closeness([scheduler.initNoiseSigma], [entry.init_noise_sigma], 0, TABLE_RTOL).excess).toBeLessThanOrEqual(0);
    if (entry.sigmas) {
      expect(scheduler.sigmas).toBeDefined();
      expect(closeness(scheduler.sigmas ?? [], entry.sigmas, 0, TABLE_RTOL).excess).toBeLessThanOrEqual(0);
    } else {
      expect(scheduler.sigmas).toBeUndefined();
    }
    if (entry.plms_timesteps) expect(scheduler.timesteps).toEqual(entry.plms_timesteps);
  });
});
