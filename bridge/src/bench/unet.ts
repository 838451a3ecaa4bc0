// Full-size SD1.5 UNet on CPU: graph build (weights streamed to an external data file) and one call at
// 512x512 (latents 64x64, batch 2, 2 threads), with Kirie's head-by-head self-attention against the same
// graph computing all heads at once (the torch.onnx export pattern) as baseline, and the fusedAttention
// (com.microsoft MultiHeadAttention) graph. Weights are seeded
// random tensors shaped from sd15-full-keys.json. Every measurement runs in a child process (this bench
// re-run with KIRIE_BENCH_UNET_STEP) so its peak RSS (resourceUsage().maxRSS) is its own.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SD15_ARCH } from '@kirie/core/models/arch';
import { buildComponent } from '@kirie/core/models/build';
import { CountingSink, GeneratedSource, seededInit } from '@kirie/core/models/generated-source';
import type { BuildOptions, WeightSink } from '@kirie/core/models/types';
import type { BenchSuite } from './types.js';

const FULL_KEYS = fileURLToPath(new URL('../../tests/golden/tiny-sd15/sd15-full-keys.json', import.meta.url));
const STEP = 'KIRIE_BENCH_UNET_STEP';
const THREADS = 2;
const [BATCH, LATENT, TOKENS] = [2, 64, 77];

interface StepResult {
  seconds: number[];
  /** User+system CPU seconds per call, all threads: on a busy machine wall time says little. */
  cpuSeconds?: number[];
  maxRssBytes: number;
  weightsBytes?: number;
}

class FileSink implements WeightSink {
  private size = 0;
  constructor(
    private readonly fd: number,
    readonly location: string,
  ) {}
  async write(bytes: Uint8Array) {
    // Page-aligned offsets let ONNX Runtime map the file instead of copying it.
    const pad = (4096 - (this.size % 4096)) % 4096;
    if (pad) writeSync(this.fd, new Uint8Array(pad));
    const offset = this.size + pad;
    writeSync(this.fd, bytes);
    this.size = offset + bytes.byteLength;
    return { offset, length: bytes.byteLength };
  }
}

function sd15Source(): GeneratedSource {
  const listing = JSON.parse(readFileSync(FULL_KEYS, 'utf8')) as { sd15: Record<string, [number[], string]> };
  const unet = Object.entries(listing.sd15).filter(([k]) => k.startsWith('model.diffusion_model.'));
  return new GeneratedSource(new Map(unet.map(([k, [shape]]) => [k, shape])), seededInit);
}

/** Child: build the UNet (default attention) into dir/unet.onnx + dir/unet.weights, and the all-heads variant. */
async function buildStep(dir: string): Promise<StepResult> {
  const start = performance.now();
  const fd = openSync(join(dir, 'unet.weights'), 'w');
  const bytes = await buildComponent('unet', sd15Source(), SD15_ARCH, { precision: 'fp32', externalData: new FileSink(fd, 'unet.weights') });
  closeSync(fd);
  writeFileSync(join(dir, 'unet.onnx'), bytes);
  const seconds = (performance.now() - start) / 1000;
  // Same weights in the same order: identical offsets, so only the graph is written.
  for (const [file, options] of VARIANTS) {
    const offsetsOnly = new (class extends CountingSink {
      override async write(b: Uint8Array) {
        this.size += (4096 - (this.size % 4096)) % 4096;
        return super.write(b);
      }
    })('unet.weights');
    const graph = await buildComponent('unet', sd15Source(), SD15_ARCH, { ...options, externalData: offsetsOnly });
    writeFileSync(join(dir, file), graph);
  }
  return { seconds: [seconds], maxRssBytes: process.resourceUsage().maxRSS * 1024, weightsBytes: statSync(join(dir, 'unet.weights')).size };
}

/** Child: load a graph and time two calls (the first includes ORT's one-time allocations). */
async function runStep(model: string): Promise<StepResult> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Idle worker threads would otherwise spin, counting busy-waiting as CPU time (and, on a loaded
    // machine, stealing it from the threads doing the work).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const rand = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const feeds = {
    sample: new ort.Tensor('float32', rand(BATCH * 4 * LATENT * LATENT), [BATCH, 4, LATENT, LATENT]),
    timestep: new ort.Tensor('float32', Float32Array.of(500), [1]),
    encoder_hidden_states: new ort.Tensor('float32', rand(BATCH * TOKENS * 768), [BATCH, TOKENS, 768]),
  };
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  for (let i = 0; i < 2; i++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const out = await session.run(feeds);
    seconds.push((performance.now() - start) / 1000);
    const used = process.cpuUsage(cpu);
    cpuSeconds.push((used.user + used.system) / 1e6);
    const data = out.out_sample.data as Float32Array;
    if (!data.every(Number.isFinite)) throw new Error('UNet output is not finite');
  }
  await session.release();
  return { seconds, cpuSeconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

function child(step: string, arg: string): StepResult {
  const out = join(arg.endsWith('.onnx') ? join(arg, '..') : arg, `${step}-${Date.now()}.json`);
  const r = spawnSync(process.execPath, [process.argv[1], 'unet'], {
    env: { ...process.env, [STEP]: JSON.stringify({ step, arg, out }) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`unet bench step ${step} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(readFileSync(out, 'utf8')) as StepResult;
}

const GB = 1024 ** 3;
/** Graphs compared with the default build: all heads at once, and ORT's fused MultiHeadAttention. */
const VARIANTS: [string, BuildOptions][] = [
  ['unet-allheads.onnx', { precision: 'fp32', attentionChunks: 0 }],
  ['unet-fused.onnx', { precision: 'fp32', fusedAttention: true }],
];

export const unetSuite: BenchSuite = {
  name: 'unet',
  description: `SD1.5 UNet fp32 on CPU (${THREADS} threads): build with streamed weights, one call at 512x512 batch ${BATCH}`,
  async run(report) {
    const inChild = process.env[STEP];
    if (inChild) {
      const { step, arg, out } = JSON.parse(inChild) as { step: string; arg: string; out: string };
      writeFileSync(out, JSON.stringify(step === 'build' ? await buildStep(arg) : await runStep(arg)));
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'kirie-bench-unet-'));
    try {
      const build = child('build', dir);
      report({ name: 'build time', value: build.seconds[0], unit: 's' });
      report({
        name: 'build peak RSS',
        value: build.maxRssBytes / GB,
        unit: 'GiB',
        baseline: { name: 'weights', value: build.weightsBytes! / GB },
        target: '≤ 1.5x the component',
      });
      const ours = child('run', join(dir, 'unet.onnx'));
      const allHeads = child('run', join(dir, 'unet-allheads.onnx'));
      const fused = child('run', join(dir, 'unet-fused.onnx'));
      for (const [i, label] of ['first call', 'second call'].entries()) {
        report({ name: `${label}, head-by-head attention`, value: ours.seconds[i], unit: 's', baseline: { name: 'all heads at once', value: allHeads.seconds[i] }, target: '≤ 9 s (torch.onnx export ≈ 9 s)' });
        report({ name: `${label} CPU time (${THREADS} threads)`, value: ours.cpuSeconds![i], unit: 's', baseline: { name: 'all heads at once', value: allHeads.cpuSeconds![i] } });
      }
      report({ name: 'second call, fusedAttention', value: fused.seconds[1], unit: 's', baseline: { name: 'head-by-head', value: ours.seconds[1] } });
      report({ name: 'second call CPU time, fusedAttention', value: fused.cpuSeconds![1], unit: 's', baseline: { name: 'head-by-head', value: ours.cpuSeconds![1] } });
      report({ name: 'call peak RSS, fusedAttention', value: fused.maxRssBytes / GB, unit: 'GiB', baseline: { name: 'head-by-head', value: ours.maxRssBytes / GB } });
      report({ name: 'call peak RSS, head-by-head', value: ours.maxRssBytes / GB, unit: 'GiB', baseline: { name: 'all heads at once', value: allHeads.maxRssBytes / GB }, target: '≤ 4.5 GB (torch.onnx export ≈ 7.0 GB)' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
