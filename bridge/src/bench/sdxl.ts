// Bench suite `sdxl`: a full-size SDXL base checkpoint (random weights, real keys and shapes, 6.9 GB float16)
// run as the bridge runs it on the CPU: float32 graphs from the build cache, CFG (UNet batch 2), Euler, the
// VAE tiled or not as the bridge's default memory budget decides. One 1024² txt2img job of 2 steps gives:
// step 1 = text encoders + the first UNet call (ORT's one-time allocations), step 2 = one steady UNet call,
// then the 1024² VAE decode; the job's peak RSS is the whole pipeline's. It runs twice, with the UNet's
// attention fused (com.microsoft MultiHeadAttention, what the bridge builds) and sliced head by head (the
// MatMul/Softmax graph, one head's score matrix alive at a time), and the SD1.5 512² UNet call is the
// baseline. Every job runs in its own child process, so each peak RSS is its own.
// Needs ~35 GB of disk (checkpoint, graphs and ONNX Runtime's stored optimised graphs; KIRIE_BENCH_SDXL_DIR keeps
// them for the next run) and ~16 GB of memory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { buildComponent } from '@kirie/core/models/build';
import { SDXL_FAMILY } from '@kirie/core/models/family';
import { CountingSink, GeneratedSource, zeros } from '@kirie/core/models/generated-source';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import { openCheckpoint } from '../models/checkpoint.js';
import { buildCheckpoint, familyPlans, openModel } from '../models/load.js';
import { createSession } from '../runtime/session.js';
import { defaultMemoryBytes } from '../server/limits.js';
import { estimateJobMemory, vaeTilingFor } from '../server/memory-estimate.js';
import { writeRandomCheckpoint } from '../models/random.js';
import { fullSizeWanted, withFullSize } from './fullsize.js';
import type { BenchSuite } from './types.js';

const JOB = 'KIRIE_BENCH_SDXL_JOB';
const GB = 2 ** 30;
const SLICED_GRAPH = 'unet-sliced.onnx';
type Attention = 'fused' | 'sliced';

interface JobResult {
  maxRss: number;
  /** Seconds of each denoising step, as the pipeline reports them. */
  steps: number[];
  /** The whole job, from the request to the decoded image. */
  seconds: number;
  /** sliced-graph: the float32 weights of every component of the build. */
  weightsBytes?: number;
}

/** The folder of the checkpoint's current build (a kept cache may also hold builds of older graph builders). */
async function builtDir(checkpoint: string, cacheDir: string): Promise<string> {
  return (await buildCheckpoint(checkpoint, (family) => familyPlans(family, 'fp32'), { cacheDir, device: 'cpu' }, 'checkpoint')).dir;
}

/**
 * The UNet graph with head-by-head attention over the weights file of the cached (fused) build: same weights
 * in the same order give the same offsets when the sink aligns as the cache's does (bridge/src/models/cache.ts
 * FileSink: 64 KiB for tensors ≥ 1 MiB, else 64 B). The total must land on the data file's size, or the
 * layouts differ and the graph would read wrong bytes.
 */
async function writeSlicedUnet(checkpoint: string, dir: string): Promise<void> {
  const opened = await openCheckpoint(checkpoint);
  const plan = familyPlans(SDXL_FAMILY, 'fp32').find((p) => p.component === 'unet')!;
  const shapes = new Map(opened.file.keys().filter((k) => k.startsWith(SDXL_FAMILY.prefixes.unet!)).map((k) => [k, opened.file.shape(k)]));
  await opened.file.close();
  const sink = new (class extends CountingSink {
    override async write(bytes: Uint8Array) {
      const align = bytes.length >= 1 << 20 ? 65536 : 64;
      this.size = Math.ceil(this.size / align) * align;
      return super.write(bytes);
    }
  })('unet.onnx.data');
  const graph = await buildComponent('unet', new GeneratedSource(shapes, zeros), opened.arch, { ...plan.options, fusedAttention: false, externalData: sink });
  const dataBytes = statSync(join(dir, 'unet.onnx.data')).size;
  if (sink.size !== dataBytes) throw new Error(`the sliced UNet's weights layout (${sink.size} B) differs from the cached build's (${dataBytes} B)`);
  writeFileSync(join(dir, SLICED_GRAPH), graph);
}

/** Child: one txt2img job on the built model; prints the peak RSS, the step times and the job time. */
async function job(spec: string): Promise<void> {
  const [what, attention, side, checkpoint, cacheDir] = spec.split('|') as [string, Attention, string, string, string];
  if (what === 'sliced-graph') {
    const dir = await builtDir(checkpoint, cacheDir);
    await writeSlicedUnet(checkpoint, dir);
    const weights = readdirSync(dir).filter((f) => f.endsWith('.onnx.data')).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, steps: [], seconds: 0, weightsBytes: weights }));
    return;
  }
  const loaded = await openModel(checkpoint, { device: 'cpu', cacheDir });
  if (what === 'build') {
    await loaded.release();
    console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, steps: [], seconds: 0 }));
    return;
  }
  let model = loaded;
  if (attention === 'sliced') {
    await loaded.unet.release();
    model = { ...loaded, unet: (await createSession(join(await builtDir(checkpoint, cacheDir), SLICED_GRAPH), { device: 'cpu' })).session };
  }
  const size = Number(side);
  const request = parseGenerateRequest({ model: 'bench', prompt: 'a lighthouse on a cliff at dusk, oil painting', negativePrompt: 'blurry', width: size, height: size, steps: 2, scheduler: 'euler', seed: 1 });
  const vaeTiling = vaeTilingFor(size, size, false, defaultMemoryBytes());
  const steps: number[] = [];
  const start = performance.now();
  let last = start;
  await generateFromRequest(request, {
    ort,
    model,
    controlNet: () => Promise.reject(new Error('no ControlNet')),
    image: () => Promise.reject(new Error('no images')),
    previewEvery: 0,
    onProgress: () => {
      const now = performance.now();
      steps.push((now - last) / 1000);
      last = now;
    },
    ...(vaeTiling ? { vaeTiling } : {}),
  });
  const seconds = (performance.now() - start) / 1000;
  // No release: the process ends here (and the sliced model's unet is not the loaded model's to release).
  console.log(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, steps, seconds }));
}

function child(spec: string): JobResult {
  const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'sdxl'], { env: { ...process.env, [JOB]: spec }, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status !== 0 || !line.startsWith('{')) throw new Error(`sdxl bench job ${spec} failed (${out.status ?? out.signal}): ${out.stderr.slice(-2000)}`);
  return JSON.parse(line) as JobResult;
}

/** The SDXL checkpoint and its cache folder, kept in KIRIE_BENCH_SDXL_DIR when set. */
async function withSdxl<T>(run: (checkpoint: string, cacheDir: string) => Promise<T>): Promise<T> {
  const kept = process.env.KIRIE_BENCH_SDXL_DIR;
  const dir = kept ?? mkdtempSync(join(tmpdir(), 'kirie-bench-sdxl-'));
  const checkpoint = join(dir, 'sdxl-random.safetensors');
  try {
    if (!existsSync(checkpoint)) await writeRandomCheckpoint({ arch: 'sdxl', kind: 'sdxl', seed: 1, out: checkpoint, fp16: true });
    return await run(checkpoint, join(dir, 'cache'));
  } finally {
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}

export const sdxlSuite: BenchSuite = {
  name: 'sdxl',
  description: 'full-size SDXL on CPU (fp32, CFG): 1024² UNet call with fused vs sliced attention against SD1.5 at 512², whole 1024² txt2img peak RSS (run by name or KIRIE_BENCH_FULL=1)',
  async run(report) {
    const spec = process.env[JOB];
    if (spec) {
      await job(spec);
      process.exit(0);
    }
    if (!fullSizeWanted('sdxl')) {
      console.log('  (full-size only: run `npm run bench -- sdxl` or set KIRIE_BENCH_FULL=1; needs ~35 GB of disk and ~16 GB of memory)');
      return;
    }
    const unetCall = (r: JobResult) => r.steps[1]!;
    // First, and gone before the SDXL files are written (disk): the SD1.5 baseline.
    const sd15 = await withFullSize(async ({ checkpoint, cacheDir }) => {
      child(`build|fused|0|${checkpoint}|${cacheDir}`);
      return child(`txt2img|fused|512|${checkpoint}|${cacheDir}`);
    });
    report({ name: 'SD1.5 512² UNet call (batch 2, CFG), fused: the baseline', value: unetCall(sd15), unit: 's' });
    // Each figure is printed as soon as its jobs have run: a slow machine shows the fused figures long before the end.
    await withSdxl(async (checkpoint, cacheDir) => {
      child(`build|fused|0|${checkpoint}|${cacheDir}`); // outside the measured jobs, and outside this process
      const fused = child(`txt2img|fused|1024|${checkpoint}|${cacheDir}`);
      report({ name: '1024² UNet call (batch 2, CFG), fused attention', value: unetCall(fused), unit: 's', baseline: { name: 'SD1.5 UNet call at 512², fused', value: unetCall(sd15) } });
      report({ name: '1024² step 1 (text encoders + first UNet call), fused', value: fused.steps[0]!, unit: 's', baseline: { name: 'step 2 (one UNet call)', value: unetCall(fused) } });
      report({ name: 'whole 1024² txt2img job time, fused', value: fused.seconds, unit: 's', baseline: { name: 'SD1.5 512² job', value: sd15.seconds } });
      const weights = child(`sliced-graph|sliced|0|${checkpoint}|${cacheDir}`).weightsBytes!;
      const shape = { width: 1024, height: 1024, batchSize: 1, cfg: true, controlUnits: 0, encodes: false, weightsBytes: weights, canvasPixels: 0, family: 'sdxl' as const };
      const estimate = estimateJobMemory(shape, defaultMemoryBytes());
      report({ name: `whole 1024² txt2img (2 steps, VAE ${estimate.vaeTiled ? 'tiled' : 'untiled'}) peak RSS, fused`, value: fused.maxRss / GB, unit: 'GiB', baseline: { name: 'job memory estimate', value: estimate.peakBytes / GB } });
      report({ name: 'whole 1024² txt2img peak RSS, fused', value: fused.maxRss / GB, unit: 'GiB', baseline: { name: 'float32 graph weights (all components)', value: weights / GB } });
      const sliced = child(`txt2img|sliced|1024|${checkpoint}|${cacheDir}`);
      report({ name: '1024² UNet call, attention sliced head by head', value: unetCall(sliced), unit: 's', baseline: { name: 'fused', value: unetCall(fused) } });
      report({ name: 'whole 1024² txt2img peak RSS, sliced', value: sliced.maxRss / GB, unit: 'GiB', baseline: { name: 'fused', value: fused.maxRss / GB } });
    });
  },
};
