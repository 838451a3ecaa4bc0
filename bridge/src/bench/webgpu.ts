// WebGPU against the CPU on this machine: the same full-size 512x512 txt2img (random SD1.5 weights, DDIM, CFG)
// opened with --device webgpu (float32 graphs with the provider workarounds) and --device cpu, in one process;
// per-step time is the time between consecutive steps' ends (first step, text encoder and VAE left out).
// Only meaningful on a GPU: on a machine whose only adapter is a software one (Mesa llvmpipe) it says so and
// stops. No GPU was available when this was written, so no figure is recorded here yet.
import type { GenerateRequestInput } from '@kirie/core/request/schema';
import { openModel } from '../models/load.js';
import { resolveProvider, resetProviderFailures } from '../runtime/session.js';
import { softwareOnlyWebGpu } from '../runtime/webgpu.js';
import { stepTimes } from './deepcache.js';
import { fullSizeWanted, withFullSize } from './fullsize.js';
import { median } from './stats.js';
import type { BenchSuite } from './types.js';

const REQUEST: GenerateRequestInput = { model: 'sd15', prompt: 'a red fox in the snow', negativePrompt: 'blurry', width: 512, height: 512, steps: 5, scheduler: 'ddim', seed: 1 };

export const webgpuSuite: BenchSuite = {
  name: 'webgpu',
  description: 'full-size 512x512 txt2img: time per step on the WebGPU provider against the CPU (run by name or KIRIE_BENCH_FULL=1; needs a GPU)',
  async run(report) {
    if (!fullSizeWanted('webgpu')) {
      console.log('  (full-size only: run `npm run bench -- webgpu` or set KIRIE_BENCH_FULL=1, on a machine with a GPU)');
      return;
    }
    const reasons: string[] = [];
    const software = softwareOnlyWebGpu();
    if (software || (await resolveProvider('webgpu', (m) => reasons.push(m))) !== 'webgpu') {
      console.log(`  (no WebGPU GPU adapter: ${software ?? reasons.join('; ')})`);
      resetProviderFailures();
      return;
    }
    await withFullSize(async ({ checkpoint, cacheDir }) => {
      const perStep: Record<string, number> = {};
      for (const device of ['webgpu', 'cpu'] as const) {
        const model = await openModel(checkpoint, { device, cacheDir });
        try {
          perStep[device] = median((await stepTimes(model, REQUEST)).map((s) => s.ms));
        } finally {
          await model.release();
        }
      }
      report({ name: 'WebGPU: time per 512x512 CFG step (float32)', value: perStep.webgpu, unit: 'ms', baseline: { name: 'CPU', value: perStep.cpu } });
      report({ name: 'WebGPU: speed-up per step over the CPU', value: perStep.cpu / perStep.webgpu, unit: 'x' });
    });
  },
};
