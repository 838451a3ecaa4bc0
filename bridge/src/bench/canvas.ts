// Big canvases: the peak RSS of whole img2img jobs (full-size random SD1.5 weights, CFG, one denoising
// step: the UNet's activations are there, the VAE encode and decode at full size too) at 1024x1024 with
// the VAE untiled and tiled, and at 2048x2048 tiled (KIRIE_BENCH_CANVAS_2048=1: its UNet call alone takes
// many minutes on a laptop CPU). Each job runs in its own child process, so each peak is its own.
// Measured on the 2-core development machine (load 1–3): 1024² img2img peak RSS 5.89–6.09 GiB with the VAE tiled
// (opening the model: 1.1 GiB of it; the job 268–323 s) against 6.76 GiB untiled; 2048² tiled 9.05 GiB in 1353 s.
// The job estimate (bridge/src/server/memory-estimate.ts) is anchored on these.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { RasterImage } from '@kirie/core/image/png';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { SD15_VAE_TILING } from '@kirie/core/pipeline/vae-tiling';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import { openModel } from '../models/load.js';
import { defaultMemoryBytes } from '../server/limits.js';
import { estimateJobMemory, vaeTilingFor } from '../server/memory-estimate.js';
import { fullSizeWanted, withFullSize } from './fullsize.js';
import type { BenchSuite } from './types.js';

const JOB = 'KIRIE_BENCH_CANVAS_JOB';
const GB = 2 ** 30;

/** A smooth colour field: what the encoder sees matters little for memory, but it must be a real image. */
function gradient(side: number): RasterImage {
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) data.set([(255 * x) / side, (255 * y) / side, 128], (y * side + x) * 3);
  }
  return { width: side, height: side, channels: 3, data };
}

/** Child: open the model, run one img2img job, print the peak RSS (bytes) and the time (ms). */
async function job(spec: string): Promise<void> {
  const [side, tiled, checkpoint, cacheDir] = spec.split('|');
  const size = Number(side);
  const model = await openModel(checkpoint, { device: 'cpu', cacheDir });
  // Opening's own high-water mark (sessions loading and packing their weights), apart from the job's.
  const openRss = process.resourceUsage().maxRSS * 1024;
  if (side === 'build') {
    await model.release();
    console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, openRss, ms: 0 }));
    return;
  }
  const start = performance.now();
  // 4 steps at strength 0.25: one UNet call (batch 2 with CFG), after a full-size encode, before a full-size decode.
  const request = parseGenerateRequest({ model: 'sd15', prompt: 'a red fox in the snow', negativePrompt: 'blurry', width: size, height: size, steps: 4, strength: 0.25, scheduler: 'ddim', seed: 1, initImage: 'init' });
  await generateFromRequest(request, {
    ort,
    model,
    controlNet: () => Promise.reject(new Error('no ControlNet')),
    image: async () => gradient(size),
    previewEvery: 0,
    ...(tiled === 'tiled' ? { vaeTiling: SD15_VAE_TILING } : {}),
  });
  const ms = performance.now() - start;
  await model.release();
  console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, openRss, ms }));
}

function child(spec: string): { maxRss: number; openRss: number; ms: number } {
  const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'canvas'], { env: { ...process.env, [JOB]: spec }, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status !== 0 || !line.startsWith('{')) throw new Error(`canvas job ${spec} failed (${out.status}): ${out.stderr.slice(-2000)}`);
  return JSON.parse(line) as { maxRss: number; openRss: number; ms: number };
}

export const canvasSuite: BenchSuite = {
  name: 'canvas',
  description: 'peak RSS of full-size img2img jobs at 1024² (VAE untiled vs tiled) and 2048² (tiled), against the job memory estimate (run by name or KIRIE_BENCH_FULL=1)',
  async run(report) {
    const spec = process.env[JOB];
    if (spec) {
      await job(spec);
      process.exit(0);
    }
    if (!fullSizeWanted('canvas')) {
      console.log('  (full-size only: run `npm run bench -- canvas` or set KIRIE_BENCH_FULL=1; needs ~10 GB of disk and 20+ GB of memory)');
      return;
    }
    await withFullSize(async ({ checkpoint, cacheDir }) => {
      child(`build||${checkpoint}|${cacheDir}`); // built outside the measured jobs, and outside this process
      const sides = process.env.KIRIE_BENCH_CANVAS_2048 === '1' ? [1024, 2048] : [1024];
      const budget = defaultMemoryBytes();
      for (const side of sides) {
        const shape = { width: side, height: side, batchSize: 1, cfg: true, controlUnits: 0, encodes: true, weightsBytes: 4_265_380_512, canvasPixels: 0 };
        const tiled = child(`${side}|tiled|${checkpoint}|${cacheDir}`);
        const estimate = estimateJobMemory(shape, 1).peakBytes; // any budget this small counts the VAE tiled
        report({ name: `${side}² img2img (1 step, CFG), VAE tiled: peak RSS`, value: tiled.maxRss / GB, unit: 'GiB', baseline: { name: 'job memory estimate', value: estimate / GB } });
        report({ name: `${side}² img2img, VAE tiled: peak RSS while opening the model (before the job)`, value: tiled.openRss / GB, unit: 'GiB', baseline: { name: 'whole job', value: tiled.maxRss / GB } });
        report({ name: `${side}² img2img: the bridge's default budget (${(budget / GB).toFixed(1)} GiB) ${vaeTilingFor(side, side, true, budget) ? 'tiles' : 'does not tile'} this size; job time tiled`, value: tiled.ms / 1000, unit: 's' });
        if (side <= 1024) {
          const untiled = child(`${side}|untiled|${checkpoint}|${cacheDir}`);
          report({ name: `${side}² img2img, VAE untiled: peak RSS`, value: untiled.maxRss / GB, unit: 'GiB', baseline: { name: 'tiled', value: tiled.maxRss / GB } });
          report({ name: `${side}² img2img, VAE untiled: job memory estimate`, value: estimateJobMemory(shape).peakBytes / GB, unit: 'GiB', baseline: { name: 'measured', value: untiled.maxRss / GB } });
        }
      }
    });
  },
};
