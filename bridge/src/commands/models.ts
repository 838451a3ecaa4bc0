import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { identifyWeights } from '@kirie/core/models/detect';
import type { BuildProgress } from '../models/cache.js';
import { openCheckpoint } from '../models/checkpoint.js';
import { FAMILIES, type ModelFamily } from '@kirie/core/models/family';
import { buildCheckpoint, controlNetPlans, familyPlans, precisionFor } from '../models/load.js';
import { storeOptimized, storesOptimized } from '../models/optimized.js';
import { defaultCacheDir } from '../models/options.js';
import { writeRandomCheckpoint, type RandomArch } from '../models/random.js';
import { SafetensorsFile } from '../models/safetensors-file.js';
import { DEVICES, parseDevice } from '../runtime/session.js';

const MB = 1024 * 1024;

function progressBar(label: string): { update: (done: number, total: number, what: string) => void; stop: () => void } {
  const bar = new SingleBar({ format: `${label} |{bar}| {percentage}% {done}/{all} MB {what}`, hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
  let started = false;
  return {
    update(done, total, what) {
      if (!started) bar.start(total, 0, { done: 0, all: Math.round(total / MB), what });
      started = true;
      bar.update(done, { done: Math.round(done / MB), all: Math.round(total / MB), what });
    },
    stop: () => started && bar.stop(),
  };
}

export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('build, inspect and generate model files');

  models
    .command('build')
    .description('build the ONNX graphs of a .safetensors checkpoint or ControlNet into the cache')
    .argument('<checkpoint>', 'a .safetensors file (sidecar <name>.yaml next to it when not SD1.5-sized)')
    .option('--cache <dir>', 'cache folder (default: $KIRIE_CACHE or ~/.kirie/cache, shared with kirie serve)')
    .addOption(new Option('--device <device>', 'the device the graphs are for (CUDA, DirectML, CoreML: float16; WebGPU, CPU: float32)').choices([...DEVICES]).default('auto'))
    .action(async (checkpoint: string, opts: { cache?: string; device: string }) => {
      const started = performance.now();
      const device = parseDevice(opts.device);
      const precision = await precisionFor(device, (m) => console.error(m));
      const ckpt = await openCheckpoint(checkpoint);
      const kind = ckpt.kind.kind;
      await ckpt.file.close();
      const bar = progressBar(`building ${precision}`);
      let built = false;
      const onProgress = (p: BuildProgress) => {
        built = true;
        bar.update(p.bytesDone, p.bytesTotal, p.component);
      };
      const plans = kind === 'controlnet' ? controlNetPlans(precision) : (family: ModelFamily) => familyPlans(family, precision);
      const cacheDir = opts.cache ?? defaultCacheDir();
      try {
        const result = await buildCheckpoint(checkpoint, plans, { device, cacheDir, onProgress }, kind);
        bar.stop();
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`${built ? 'built' : 'already built (cache hit)'} in ${seconds} s: ${result.dir}`);
        // What the first open would otherwise do: ONNX Runtime's graph optimisation for this CPU, stored.
        if (storesOptimized(device)) {
          console.log('optimising the graphs for this CPU (once: opening the model skips it afterwards)…');
          const optimizing = performance.now();
          const graphs = Object.values(result.models).flatMap((file) => (file ? [join(result.dir, file)] : []));
          const stored = await storeOptimized(graphs, { device, log: (m) => console.error(m) });
          const fresh = stored.filter((s) => s.origin === 'stored').length;
          const took = ((performance.now() - optimizing) / 1000).toFixed(1);
          console.log(fresh > 0 ? `optimised in ${took} s (${fresh} of ${stored.length} graphs stored)` : 'already optimised for this CPU');
        }
      } catch (err) {
        bar.stop();
        throw err;
      }
    });

  models
    .command('info')
    .description('say what a .safetensors file is (SD1.x, ControlNet, SDXL, LoRA, ...) and whether Kirie can run it')
    .argument('<file>')
    .action(async (file: string) => {
      const st = await SafetensorsFile.open(file);
      try {
        const id = identifyWeights(st.keys(), (k) => (st.has(k) ? st.shape(k) : undefined));
        const dtypes = [...new Set(st.keys().map((k) => st.dtype(k)))].join(', ');
        console.log(`${st.label}: ${id.description}; ${st.keys().length} tensors (${dtypes}), ${(st.size / MB).toFixed(0)} MB`);
      } finally {
        await st.close();
      }
      // Runs the full checks (architecture, sidecar) and reports the first problem, if any.
      const ckpt = await openCheckpoint(file);
      await ckpt.file.close();
      const u = ckpt.kind.kind === 'controlnet' ? ckpt.arch.controlnet : ckpt.arch.unet;
      const what = ckpt.kind.kind === 'controlnet' ? (ckpt.kind.format === 'diffusers' ? 'controlnet (diffusers format)' : 'controlnet') : `${FAMILIES[ckpt.kind.family].label} checkpoint`;
      const fromShapes = ckpt.arch.family !== 'sd1' || (ckpt.kind.kind === 'controlnet' && ckpt.kind.format === 'diffusers');
      const from = ckpt.sidecarText ? 'from its sidecar YAML' : fromShapes ? 'from its tensor shapes' : 'SD1.5 defaults';
      console.log(`runs in Kirie: ${what}, UNet ${u.inChannels} input channels, model_channels ${u.modelChannels}, context ${u.contextDim} (${from})`);
    });

  models
    .command('random')
    .description('write a checkpoint with real key names/shapes and seeded random weights (for benchmarks and demos)')
    .addOption(
      new Option('--arch <arch>', 'sd15: full size (4.3 GB fp32); sdxl: full-size SDXL base (6.9 GB with --fp16); tiny: the SD1.5 test topology (+ sidecar yaml)')
        .choices(['sd15', 'sdxl', 'tiny'])
        .makeOptionMandatory(),
    )
    .option('--controlnet', 'a ControlNet (control_model.*) instead of a checkpoint')
    .option('--inpainting', 'a 9-channel inpainting UNet')
    .requiredOption('--seed <n>', 'random seed', (v) => Number(v))
    .requiredOption('--out <file>', 'output .safetensors path')
    .option('--fp16', 'store weights as float16')
    .action(async (opts: { arch: RandomArch; controlnet?: boolean; inpainting?: boolean; seed: number; out: string; fp16?: boolean }) => {
      if (opts.controlnet && opts.inpainting) throw new Error('--controlnet and --inpainting exclude each other');
      const family = opts.arch === 'sdxl' ? 'sdxl' : 'sd15';
      const kind = opts.controlnet ? 'controlnet' : opts.inpainting ? (`${family}_inpainting` as const) : family;
      const bar = progressBar('writing');
      const result = await writeRandomCheckpoint({ arch: opts.arch, kind, seed: opts.seed, out: opts.out, fp16: opts.fp16, onProgress: (done, total) => bar.update(done, total, '') });
      bar.stop();
      console.log(`wrote ${result.path} (${(result.bytes / MB).toFixed(0)} MB)${result.sidecar ? ` and ${result.sidecar}` : ''}`);
    });
}
