// The pipeline's own cost: time spent outside ONNX Runtime's run() calls (tokenizing, scheduler maths,
// CFG, blending, previews, tensor copies) as a share of a generation, and memory: RSS after 10 versus
// 100 jobs in one process, and (KIRIE_BENCH_FULL=1, slow) the peak RSS of a full-size fp32 512x512
// txt2img with a random SD1.5 checkpoint. Memory runs in child processes (this bundle re-run with
// KIRIE_BENCH_PIPELINE_STEP) so each peak RSS is its own.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import type { GenerateRequestInput } from '@kirie/core/request/schema';
import type { OrtSession } from '@kirie/core/runtime/ort';
import { openModel, type LoadedModel } from '../models/load.js';
import { writeRandomCheckpoint } from '../models/random.js';
import type { BenchSuite } from './types.js';
import { median } from './stats.js';

const STEP = 'KIRIE_BENCH_PIPELINE_STEP';
const TINY = fileURLToPath(new URL('../../tests/golden/tiny-sd15/tiny-sd15.safetensors', import.meta.url));
const TINY_REQUEST: GenerateRequestInput = { model: 'tiny', prompt: 'a red fox in the snow', negativePrompt: 'blurry', width: 128, height: 128, steps: 20, scheduler: 'dpmpp_2m_karras', seed: 1 };
const FULL_REQUEST: GenerateRequestInput = { model: 'sd15', prompt: 'a red fox in the snow', negativePrompt: 'blurry', width: 512, height: 512, steps: 2, scheduler: 'euler', seed: 1 };

/** The session with its run() time added to `clock.ms`. */
function timed(session: OrtSession, clock: { ms: number }): OrtSession {
  return new Proxy(session, {
    get(target, prop) {
      if (prop === 'run') {
        return async (...args: Parameters<OrtSession['run']>) => {
          const start = performance.now();
          try {
            return await target.run(...args);
          } finally {
            clock.ms += performance.now() - start;
          }
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function timedGeneration(model: LoadedModel, input: GenerateRequestInput): Promise<{ totalMs: number; ortMs: number }> {
  const clock = { ms: 0 };
  const withClock = { ...model, textEncoder: timed(model.textEncoder, clock), unet: timed(model.unet, clock), vaeDecoder: timed(model.vaeDecoder, clock) };
  const start = performance.now();
  await generateFromRequest(parseGenerateRequest(input), { ort, model: withClock, controlNet: () => Promise.reject(new Error('no ControlNet')), image: () => Promise.reject(new Error('no images')) });
  return { totalMs: performance.now() - start, ortMs: clock.ms };
}

interface ChildResult {
  rssAfter10?: number;
  rssAfter100?: number;
  maxRss: number;
  totalMs?: number;
  ortMs?: number;
}

/** Child: 100 tiny jobs in one process, RSS (after a GC) after job 10 and job 100. */
async function jobsStep(): Promise<ChildResult> {
  const model = await openModel(TINY, { device: 'cpu' });
  const rss = () => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().rss;
  };
  const result: ChildResult = { maxRss: 0 };
  for (let job = 1; job <= 100; job++) {
    await generateFromRequest(parseGenerateRequest({ ...TINY_REQUEST, width: 64, height: 64, steps: 4, seed: job }), { ort, model, controlNet: () => Promise.reject(new Error('none')), image: () => Promise.reject(new Error('none')) });
    if (job === 10) result.rssAfter10 = rss();
    if (job === 100) result.rssAfter100 = rss();
  }
  await model.release();
  return { ...result, maxRss: process.resourceUsage().maxRSS * 1024 };
}

/** Child: write a random full-size SD1.5 checkpoint and build its graphs into the cache (not measured). */
async function fullBuildStep(dir: string): Promise<ChildResult> {
  const { path } = await writeRandomCheckpoint({ arch: 'sd15', kind: 'sd15', seed: 1, out: join(dir, 'sd15-random.safetensors') });
  const model = await openModel(path, { device: 'cpu', cacheDir: join(dir, 'cache') });
  await model.release();
  return { maxRss: process.resourceUsage().maxRSS * 1024 };
}

/** Child: open the built model (all three networks resident) and run one 512x512 txt2img. */
async function fullRunStep(dir: string): Promise<ChildResult> {
  const model = await openModel(join(dir, 'sd15-random.safetensors'), { device: 'cpu', cacheDir: join(dir, 'cache') });
  const { totalMs, ortMs } = await timedGeneration(model, FULL_REQUEST);
  await model.release();
  return { totalMs, ortMs, maxRss: process.resourceUsage().maxRSS * 1024 };
}

function child(step: string, dir = ''): ChildResult {
  const bundle = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, ['--expose-gc', bundle, 'pipeline'], { env: { ...process.env, [STEP]: `${step}:${dir}` }, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status !== 0 || !line.startsWith('{')) throw new Error(`bench child ${step} failed (${out.status}): ${out.stderr.slice(-2000)}`);
  return JSON.parse(line) as ChildResult;
}

const MB = 2 ** 20;
const GB = 2 ** 30;

export const pipelineSuite: BenchSuite = {
  name: 'pipeline',
  description: 'time outside ONNX Runtime per generation, RSS over many jobs, full-size peak RSS (KIRIE_BENCH_FULL=1)',
  async run(report) {
    const step = process.env[STEP];
    if (step) {
      // This process is a child of the suite: run one step, print its result, stop.
      const [name, dir] = step.split(':');
      const result = name === 'jobs' ? await jobsStep() : name === 'full-build' ? await fullBuildStep(dir) : await fullRunStep(dir);
      console.log(JSON.stringify(result));
      process.exit(0);
    }
    const model = await openModel(TINY, { device: 'cpu' });
    await timedGeneration(model, TINY_REQUEST); // warm-up: first-call allocations
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await timedGeneration(model, TINY_REQUEST));
    await model.release();
    const total = median(runs.map((r) => r.totalMs));
    const outside = median(runs.map((r) => r.totalMs - r.ortMs));
    report({ name: 'tiny 128x128 txt2img, 20 steps, CFG: time outside ORT run()', value: outside, unit: 'ms', baseline: { name: 'whole generation', value: total } });
    report({ name: 'tiny: share outside ORT run()', value: (100 * outside) / total, unit: '%', target: '≤ 2 % (full size)' });

    const jobs = child('jobs');
    report({ name: 'RSS after 100 tiny jobs', value: jobs.rssAfter100! / MB, unit: 'MB', baseline: { name: 'RSS after 10', value: jobs.rssAfter10! / MB }, target: 'no growth' });

    if (process.env.KIRIE_BENCH_FULL !== '1') {
      console.log('  (full-size 512x512 figures: set KIRIE_BENCH_FULL=1; needs ~10 GB of disk and several minutes)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'kirie-bench-pipeline-'));
    try {
      child('full-build', dir);
      const full = child('full-run', dir);
      const outsideFull = full.totalMs! - full.ortMs!;
      report({ name: `full-size fp32 ${FULL_REQUEST.width}x${FULL_REQUEST.height} txt2img, ${FULL_REQUEST.steps} steps, CFG: time outside ORT run()`, value: outsideFull, unit: 'ms', baseline: { name: 'whole generation', value: full.totalMs! } });
      report({ name: 'full-size: share outside ORT run()', value: (100 * outsideFull) / full.totalMs!, unit: '%', target: '≤ 2 %' });
      report({ name: 'full-size: peak RSS, all three models resident', value: full.maxRss / GB, unit: 'GB', target: '≤ 5.5 GB (weights ~4.2 GB)' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
