// Verify kind for scheduler suites (tests/golden/schedulers/cases.json and any folder in its format):
// every timestep/sigma table entry, every full and img2img denoising loop with the dummy model, the
// img2img partial schedules, their edge cases and add_noise, against diffusers 0.24.0's recording.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseNpy } from '@kirie/core/io/npy';
import {
  configMismatches,
  referenceScheduler,
  runLoop,
  type Img2ImgEdge,
  type Img2ImgTable,
  type LoopCase,
  type SchedulerCases,
  type TableEntry,
} from '@kirie/core/schedulers/conformance';
import { img2imgTimesteps } from '@kirie/core/schedulers/img2img';
import { allClose } from '../compare.js';
import type { CaseResult, VerifyKind } from '../types.js';

// README "Measured float32 sensitivity and recommended tolerances".
const TABLE_RTOL = 1e-6;
const LOOP_ATOL = 1e-4;
const LOOP_RTOL = 1e-5;
const KIND = 'schedulers';

function isSuite(json: Record<string, unknown>): boolean {
  return ['sd15_scheduler_config', 'variants', 'tables', 'loops', 'img2img'].every((k) => k in json);
}

// A copy: parseNpy's slice of a pooled Node Buffer would view the whole pool.
function readF32(path: string): { data: Float32Array; shape: number[] } {
  const npy = parseNpy(new Uint8Array(readFileSync(path)));
  if (!(npy.data instanceof Float32Array)) throw new Error(`${path}: expected float32, got ${npy.dtype}`);
  return { data: npy.data, shape: npy.shape };
}

function rows(array: { data: Float32Array; shape: number[] }): Float32Array[] {
  const size = array.data.length / array.shape[0];
  return Array.from({ length: array.shape[0] }, (_, i) => array.data.subarray(i * size, (i + 1) * size));
}

/** Collects comparisons of one case; the case passes when every one does. */
class Checks {
  maxAbsDiff = 0;
  readonly problems: string[] = [];

  close(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): void {
    if (actual.length !== expected.length) {
      this.problems.push(`${what}: ${actual.length} values, expected ${expected.length}`);
      this.maxAbsDiff = Number.POSITIVE_INFINITY;
      return;
    }
    const r = allClose(actual, expected, atol, rtol);
    this.maxAbsDiff = Math.max(this.maxAbsDiff, r.maxAbsDiff);
    if (!r.pass) this.problems.push(`${what}: max |diff| ${r.maxAbsDiff}`);
  }

  equal(what: string, actual: unknown, expected: unknown): void {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) this.problems.push(`${what}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
  }

  result(name: string, tolerance: number, passed: string): CaseResult {
    const pass = this.problems.length === 0;
    return { case: name, kind: KIND, maxAbsDiff: this.maxAbsDiff, tolerance, pass, detail: pass ? passed : this.problems.join('; ') };
  }
}

function tableCase(cases: SchedulerCases, key: string, n: number, entry: TableEntry, reference: Record<string, unknown>): Checks {
  const [variant, spacing] = key.split('/');
  const scheduler = referenceScheduler(cases, variant, spacing);
  scheduler.setTimesteps(n);
  const checks = new Checks();
  for (const mismatch of configMismatches(scheduler, reference)) checks.problems.push(`config ${mismatch}`);
  checks.equal('timesteps dtype', scheduler.timestepsDtype, entry.timesteps_dtype);
  if (entry.timesteps_dtype === 'int64') checks.equal('timesteps', scheduler.timesteps, entry.timesteps);
  else checks.close('timesteps', scheduler.timesteps, entry.timesteps, 0, TABLE_RTOL);
  checks.close('init_noise_sigma', [scheduler.initNoiseSigma], [entry.init_noise_sigma], 0, TABLE_RTOL);
  if (entry.sigmas) checks.close('sigmas', scheduler.sigmas ?? [], entry.sigmas, 0, TABLE_RTOL);
  if (entry.plms_timesteps) checks.equal('plms_timesteps', scheduler.timesteps, entry.plms_timesteps);
  return checks;
}

function loopCase(dir: string, cases: SchedulerCases, loop: LoopCase, xT: { data: Float32Array; shape: number[] }): Checks {
  const load = (file: string): { data: Float32Array; shape: number[] } => readF32(join(dir, 'loops', file));
  const noise = loop.files.noise ? rows(load(loop.files.noise)) : undefined;
  const start = loop.start ? readF32(join(dir, loop.start)).data : undefined;
  const record = runLoop(cases, loop, { xT: xT.data, start, noise }, xT.shape);
  const checks = new Checks();
  checks.equal('noise tensors drawn', record.noiseUsed, loop.noise_tensors_used);
  for (const name of ['model_input', 'model_output', 'prev_sample', 'pred_original_sample'] as const) {
    const file = loop.files[name];
    if (!file) continue;
    const expected = rows(load(file));
    if (record[name].length !== expected.length) {
      checks.problems.push(`${name}: ${record[name].length} steps, expected ${expected.length}`);
      continue;
    }
    expected.forEach((row, step) => checks.close(`${name}[${step}]`, record[name][step], row, LOOP_ATOL, LOOP_RTOL));
  }
  return checks;
}

function img2imgCase(cases: SchedulerCases, c: Img2ImgTable): Checks {
  const partial = img2imgTimesteps(referenceScheduler(cases, c.variant, c.spacing), c.num_inference_steps, c.strength);
  const checks = new Checks();
  checks.equal('init_timestep, t_start, effective_steps', [partial.initTimestep, partial.tStart, partial.effectiveSteps], [c.init_timestep, c.t_start, c.effective_steps]);
  checks.close('timesteps', partial.timesteps, c.timesteps, 0, TABLE_RTOL);
  checks.close('latent_timestep', [partial.latentTimestep], [c.latent_timestep], 0, TABLE_RTOL);
  return checks;
}

function edgeCase(cases: SchedulerCases, c: Img2ImgEdge): Checks {
  const checks = new Checks();
  const scheduler = referenceScheduler(cases, c.variant, c.spacing);
  let partial: ReturnType<typeof img2imgTimesteps> | null = null;
  try {
    partial = img2imgTimesteps(scheduler, c.num_inference_steps, c.strength);
  } catch (err) {
    if (!c.pipeline_raises) checks.problems.push(`raised: ${(err as Error).message}`);
  }
  if (c.pipeline_raises && partial) checks.problems.push(`accepted ${partial.effectiveSteps} steps where the pipeline raises`);
  if (partial) {
    checks.equal('init_timestep, effective_steps', [partial.initTimestep, partial.effectiveSteps], [c.init_timestep, c.effective_steps]);
    checks.equal('timesteps', partial.timesteps, c.timesteps);
  }
  return checks;
}

/** One case: its checks' verdict, or a failed line naming the error (the suite goes on). */
function settle(name: string, tolerance: number, passed: string, run: () => Checks): CaseResult {
  try {
    return run().result(name, tolerance, passed);
  } catch (err) {
    return { case: name, kind: KIND, maxAbsDiff: Number.NaN, tolerance, pass: false, detail: `crashed: ${(err as Error).message}` };
  }
}

async function* runSuite(dir: string, cases: SchedulerCases): AsyncGenerator<CaseResult> {
  const prefix = basename(dir);
  for (const [key, table] of Object.entries(cases.tables)) {
    for (const [n, entry] of Object.entries(table.by_steps)) {
      yield settle(`${prefix}/${key}/n${n}`, TABLE_RTOL, 'timesteps, sigmas, init_noise_sigma, config', () =>
        tableCase(cases, key, Number(n), entry, table.effective_config),
      );
    }
  }
  const xT = readF32(join(dir, 'x_T.npy'));
  for (const loop of [...cases.loops, ...cases.img2img.loops]) {
    yield settle(`${prefix}/loop/${loop.id}`, LOOP_ATOL, `every step within atol ${LOOP_ATOL} + rtol ${LOOP_RTOL}`, () => loopCase(dir, cases, loop, xT));
  }
  for (const c of cases.img2img.tables) {
    yield settle(`${prefix}/img2img/${c.variant}/${c.spacing}/n${c.num_inference_steps}/s${c.strength}`, TABLE_RTOL, 'partial schedule', () =>
      img2imgCase(cases, c),
    );
  }
  for (const c of cases.img2img.edge_cases) {
    const name = `${prefix}/img2img-edge/${c.variant}/${c.spacing}/n${c.num_inference_steps}/s${c.strength}`;
    yield settle(name, 0, c.pipeline_raises ? 'rejected, as the pipeline raises' : 'exact', () => edgeCase(cases, c));
  }
  const x0 = readF32(join(dir, 'x0.npy')).data;
  const noise = readF32(join(dir, 'add_noise_noise.npy')).data;
  for (const c of cases.img2img.add_noise) {
    yield settle(`${prefix}/add_noise/${c.id}`, LOOP_ATOL, `within atol ${LOOP_ATOL} + rtol ${LOOP_RTOL}`, () => {
      const scheduler = referenceScheduler(cases, c.variant, c.spacing);
      const { latentTimestep } = img2imgTimesteps(scheduler, c.num_inference_steps, c.strength);
      const checks = new Checks();
      checks.close('latent_timestep', [latentTimestep], [c.latent_timestep], 0, TABLE_RTOL);
      checks.close('noisy latents', scheduler.addNoise(x0, noise, latentTimestep), readF32(join(dir, c.file)).data, LOOP_ATOL, LOOP_RTOL);
      return checks;
    });
  }
}

export const schedulersKind: VerifyKind = {
  kind: KIND,
  matches: (file) => isSuite(file.json),
  run: (file) => runSuite(file.dir, file.json as unknown as SchedulerCases),
};
