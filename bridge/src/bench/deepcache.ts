// DeepCache's speed-up on this CPU: the same full-size 512x512 txt2img (random SD1.5 weights, DDIM, CFG)
// with every UNet call full, then with acceleration.deepCache interval 2 and 3 (branch 0), in one process;
// per-step time is the time between consecutive steps' ends, the first step (a full call in every run) and
// the text encoder and VAE left out.
// Measured on the 2-core development machine, otherwise idle: every call full 5.86 s per step; interval 2:
// 3.50 s (1.67x), interval 3: 2.71 s (2.16x); a shallow branch-0 call 0.96 s (0.16x a full call; its graph
// holds 31 MB of the UNet's 3.3 GB of weights), a full call that also fetches the cached feature 6.05 s (1.03x).
import * as ort from 'onnxruntime-node';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import type { GenerateRequestInput } from '@kirie/core/request/schema';
import { openModel, type LoadedModel } from '../models/load.js';
import { fullSizeWanted, withFullSize } from './fullsize.js';
import { median } from './stats.js';
import type { BenchSuite } from './types.js';

const STEPS = 7;
const REQUEST: GenerateRequestInput = { model: 'sd15', prompt: 'a red fox in the snow', negativePrompt: 'blurry', width: 512, height: 512, steps: STEPS, scheduler: 'ddim', seed: 1 };

/** Milliseconds of steps 2…n of one run, with whether each was a full call. */
export async function stepTimes(model: LoadedModel, request: GenerateRequestInput): Promise<{ ms: number; full: boolean }[]> {
  const ends: { at: number; full: boolean }[] = [];
  await generateFromRequest(parseGenerateRequest(request), {
    ort,
    model,
    controlNet: () => Promise.reject(new Error('no ControlNet')),
    image: () => Promise.reject(new Error('no images')),
    previewEvery: 0,
    onStep: (s) => ends.push({ at: performance.now(), full: s.deepCache?.full ?? true }),
  });
  return ends.slice(1).map((e, i) => ({ ms: e.at - ends[i].at, full: e.full }));
}

export const deepcacheSuite: BenchSuite = {
  name: 'deepcache',
  description: 'full-size 512x512 txt2img: time per step with DeepCache interval 2 and 3 (branch 0) against every call full (run by name or KIRIE_BENCH_FULL=1)',
  async run(report) {
    if (!fullSizeWanted('deepcache')) {
      console.log('  (full-size only: run `npm run bench -- deepcache` or set KIRIE_BENCH_FULL=1; needs ~10 GB of disk and several minutes)');
      return;
    }
    await withFullSize(async ({ checkpoint, cacheDir }) => {
      const model = await openModel(checkpoint, { device: 'cpu', cacheDir });
      try {
        await model.deepCacheUnet!(0); // built and opened before anything is timed
        const plain = await stepTimes(model, REQUEST);
        const full = median(plain.map((s) => s.ms));
        for (const interval of [2, 3]) {
          const steps = await stepTimes(model, { ...REQUEST, acceleration: { deepCache: { interval, branch: 0 } } });
          // A whole period of N steps (one full call, N − 1 shallow) is what a long run averages to.
          const shallow = median(steps.filter((s) => !s.full).map((s) => s.ms));
          const caching = median(steps.filter((s) => s.full).map((s) => s.ms));
          const perStep = (caching + (interval - 1) * shallow) / interval;
          report({ name: `DeepCache interval ${interval}, branch 0: time per step (1 full + ${interval - 1} shallow)`, value: perStep, unit: 'ms', baseline: { name: 'every call full', value: full } });
          report({ name: `DeepCache interval ${interval}: speed-up per step`, value: full / perStep, unit: 'x' });
          if (interval === 2) {
            report({ name: 'DeepCache shallow call (branch 0)', value: shallow, unit: 'ms', baseline: { name: 'full call', value: full } });
            report({ name: 'DeepCache full call fetching the branch-0 feature', value: caching, unit: 'ms', baseline: { name: 'full call', value: full } });
          }
        }
      } finally {
        await model.release();
      }
    });
  },
};
