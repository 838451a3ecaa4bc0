// Full-size SD1.5 UNet on CPU, one 512x512 batch-2 call (a CFG step): the graph the bridge runs (built with the
// options `kirie models build` uses on the CPU, opened with the bridge's session options, fed zero ControlNet
// residuals and idle adapter inputs through the pipeline's own predictNoise) with 1 and 2 intra-op threads,
// against the same architecture computing attention the way the standard torch.onnx export does (all heads at
// once, MatMul + Softmax; no adapter, residual or DeepCache inputs and outputs) with 2 threads. That stand-in
// shares the rest of Kirie's builder (its GroupNorm splits across threads; the export's InstanceNormalization
// runs on one), so it is if anything faster than the real export. Weights are seeded random tensors shaped
// from sd15-full-keys.json. Every measurement runs in a child process (this bench re-run with
// KIRIE_BENCH_UNET_STEP) so its peak RSS is its own; each child profiles its calls (ONNX Runtime profiling),
// which gives the time per op type and how much of it ran outside the intra-op thread pool.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { SD15_ARCH } from '@kirie/core/models/arch';
import { buildComponent } from '@kirie/core/models/build';
import { CountingSink, GeneratedSource, seededInit } from '@kirie/core/models/generated-source';
import { describeSdIo } from '@kirie/core/models/sessions';
import type { BuildOptions, WeightSink } from '@kirie/core/models/types';
import { predictNoise, zeroResiduals } from '@kirie/core/pipeline/models';
import { sd1Plans } from '../models/load.js';
import { sessionOptions } from '../runtime/session.js';
import type { BenchSuite } from './types.js';

const FULL_KEYS = fileURLToPath(new URL('../../tests/golden/tiny-sd15/sd15-full-keys.json', import.meta.url));
const STEP = 'KIRIE_BENCH_UNET_STEP';
const [BATCH, LATENT, TOKENS] = [2, 64, 77];
/** The first call includes ONNX Runtime's one-time allocations; the second is what every later step costs. */
const CALLS = 2;
/** Op types listed by name in the breakdown; the rest are summed as "other ops". */
const LISTED_OPS = 6;

/** What runs in the product: the CPU build plan's UNet options. */
const PRODUCT: BuildOptions = sd1Plans('fp32').find((p) => p.component === 'unet')!.options;
/** The standard export's attention pattern on the same architecture. */
const ALL_HEADS: BuildOptions = { precision: 'fp32', attentionChunks: 0 };

interface Profile {
  /** Seconds per op type, summed over the nodes of the last call. */
  byOp: Record<string, number>;
  /** Seconds of the last call's node time spent outside the intra-op pool's parallel sections. */
  serial: number;
  total: number;
}

interface StepResult {
  seconds: number[];
  /** User+system CPU seconds per call, all threads: on a busy machine wall time says little. */
  cpuSeconds?: number[];
  maxRssBytes: number;
  profile?: Profile;
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

/** Child: the product UNet into dir/unet.onnx + dir/unet.weights, and the all-heads graph over the same weights. */
async function buildStep(dir: string): Promise<StepResult> {
  const fd = openSync(join(dir, 'unet.weights'), 'w');
  writeFileSync(join(dir, 'unet.onnx'), await buildComponent('unet', sd15Source(), SD15_ARCH, { ...PRODUCT, externalData: new FileSink(fd, 'unet.weights') }));
  closeSync(fd);
  // Same weights in the same order: identical offsets, so only the graph is written.
  const offsetsOnly = new (class extends CountingSink {
    override async write(b: Uint8Array) {
      this.size += (4096 - (this.size % 4096)) % 4096;
      return super.write(b);
    }
  })('unet.weights');
  writeFileSync(join(dir, 'unet-allheads.onnx'), await buildComponent('unet', sd15Source(), SD15_ARCH, { ...ALL_HEADS, externalData: offsetsOnly }));
  if (offsetsOnly.size !== statSync(join(dir, 'unet.weights')).size) throw new Error('the all-heads graph does not lay out its weights as the product graph does');
  return { seconds: [], maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

/** The last call's node times from an ONNX Runtime profile (Chrome trace events). */
function readProfile(file: string): Profile {
  interface TraceEvent {
    cat?: string;
    name: string;
    ts: number;
    dur: number;
    args?: { op_name?: string; thread_scheduling_stats?: { main_thread?: Record<string, unknown> } };
  }
  const events = JSON.parse(readFileSync(file, 'utf8')) as TraceEvent[];
  const lastRun = Math.max(...events.filter((e) => e.name === 'model_run').map((e) => e.ts));
  const profile: Profile = { byOp: {}, serial: 0, total: 0 };
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < lastRun || !e.args?.op_name) continue;
    const op = e.args.op_name;
    profile.byOp[op] = (profile.byOp[op] ?? 0) + e.dur / 1e6;
    profile.total += e.dur / 1e6;
    // Microseconds the calling thread spent handing work to the pool, running its share and waiting for it.
    const main = e.args.thread_scheduling_stats?.main_thread ?? {};
    const pooled = ['Distribution', 'DistributionEnqueue', 'Run', 'Wait', 'WaitRevoke'].reduce((s, k) => s + (Number(main[k]) || 0), 0);
    profile.serial += Math.max(0, e.dur - pooled) / 1e6;
  }
  return profile;
}

/** Child: open a graph with the bridge's session options and `threads`, and time CALLS calls through predictNoise. */
async function runStep(model: string, threads: number): Promise<StepResult> {
  const prefix = join(model, '..', `profile-${threads}-${Date.now()}`);
  const session = await ort.InferenceSession.create(model, { ...sessionOptions('cpu', threads), enableProfiling: true, profileFilePrefix: prefix });
  // Only the UNet is opened: the other graphs' metadata is stated as `kirie models build` writes it.
  const io = describeSdIo({
    textEncoder: { inputMetadata: [{ name: 'input_ids', isTensor: true, type: 'int32', shape: ['b', 's'] }], outputMetadata: [{ name: 'last_hidden_state', isTensor: true, type: 'float32', shape: ['b', 's', 768] }] },
    unet: session,
    vaeDecoder: { inputMetadata: [{ name: 'latent_sample', isTensor: true, type: 'float32', shape: ['b', 4, 'h', 'w'] }], outputMetadata: [{ name: 'sample', isTensor: true, type: 'float32', shape: ['b', 3, 'H', 'W'] }] },
  });
  const sd = { unet: session, io } as unknown as Parameters<typeof predictNoise>[1];
  const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * 0.5);
  const input = { data: wave(BATCH * 4 * LATENT * LATENT, 12.9898), dims: [BATCH, 4, LATENT, LATENT] };
  const context = { data: wave(BATCH * TOKENS * 768, 78.233), dims: [BATCH, TOKENS, 768] };
  const residuals = io.unetTakesResiduals ? zeroResiduals(sd, input.dims) : null;
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    const noise = await predictNoise(ort, sd, input, 500, context, residuals);
    seconds.push((performance.now() - start) / 1000);
    const used = process.cpuUsage(cpu);
    cpuSeconds.push((used.user + used.system) / 1e6);
    if (!noise.every(Number.isFinite)) throw new Error('UNet output is not finite');
  }
  session.endProfiling();
  await session.release();
  const dir = join(model, '..');
  const file = readdirSync(dir).find((f) => join(dir, f).startsWith(prefix));
  if (!file) throw new Error(`ONNX Runtime wrote no profile ${prefix}*`);
  return { seconds, cpuSeconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, profile: readProfile(join(dir, file)) };
}

function child(step: string, dir: string, args: string[] = []): StepResult {
  const out = join(dir, `${step}-${Date.now()}.json`);
  const r = spawnSync(process.execPath, [process.argv[1], 'unet'], {
    env: { ...process.env, [STEP]: JSON.stringify({ step, args: [dir, ...args], out }) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`unet bench step ${step} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(readFileSync(out, 'utf8')) as StepResult;
}

const GB = 1024 ** 3;

export const unetSuite: BenchSuite = {
  name: 'unet',
  description: `SD1.5 UNet fp32 on CPU, one 512x512 batch-${BATCH} call: the graph the bridge runs with 1 and 2 threads, against all heads at once (standard-export attention) with 2`,
  async run(report) {
    const inChild = process.env[STEP];
    if (inChild) {
      const { step, args, out } = JSON.parse(inChild) as { step: string; args: string[]; out: string };
      const [dir, file, threads] = args;
      writeFileSync(out, JSON.stringify(step === 'build' ? await buildStep(dir) : await runStep(join(dir, file), Number(threads))));
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'kirie-bench-unet-'));
    try {
      const build = child('build', dir);
      report({ name: 'build peak RSS (product graph, then the all-heads graph)', value: build.maxRssBytes / GB, unit: 'GiB', baseline: { name: 'weights', value: statSync(join(dir, 'unet.weights')).size / GB } });
      const one = child('run', dir, ['unet.onnx', '1']);
      const two = child('run', dir, ['unet.onnx', '2']);
      const allHeads = child('run', dir, ['unet-allheads.onnx', '2']);
      const last = CALLS - 1;
      report({ name: 'product UNet call, 2 threads', value: two.seconds[last], unit: 's', baseline: { name: '1 thread', value: one.seconds[last] } });
      report({ name: 'product: 2-thread speed-up over 1 thread', value: one.seconds[last] / two.seconds[last], unit: 'x', target: '≥ 1.8x' });
      report({ name: 'product UNet call CPU time, 2 threads', value: two.cpuSeconds![last], unit: 's', baseline: { name: '1 thread', value: one.cpuSeconds![last] } });
      report({ name: 'all-heads UNet call, 2 threads', value: allHeads.seconds[last], unit: 's', baseline: { name: 'product', value: two.seconds[last] } });
      report({ name: 'all-heads UNet call CPU time, 2 threads', value: allHeads.cpuSeconds![last], unit: 's', baseline: { name: 'product', value: two.cpuSeconds![last] } });
      report({ name: 'product speed-up over all heads at once, 2 threads', value: allHeads.seconds[last] / two.seconds[last], unit: 'x', target: '≥ 1.2x at equal or lower memory' });
      report({ name: 'first call (allocations), product, 2 threads', value: two.seconds[0], unit: 's', baseline: { name: 'all heads', value: allHeads.seconds[0] } });
      report({ name: 'call peak RSS, product, 2 threads', value: two.maxRssBytes / GB, unit: 'GiB', baseline: { name: 'all heads', value: allHeads.maxRssBytes / GB }, target: '≤ all heads' });
      report({ name: 'call peak RSS, product, 1 thread', value: one.maxRssBytes / GB, unit: 'GiB' });
      for (const [label, r] of [['product', two], ['all heads', allHeads]] as const) {
        const p = r.profile!;
        report({ name: `${label}, 2 threads: node time outside the intra-op pool (on one thread)`, value: (100 * p.serial) / p.total, unit: '%' });
      }
      // Where the time goes: the op types that take most of the product's 2-thread call, each against all heads.
      const ops = Object.entries(two.profile!.byOp).sort((a, b) => b[1] - a[1]).map(([op]) => op);
      const other = (p: Profile) => p.total - ops.slice(0, LISTED_OPS).reduce((s, op) => s + (p.byOp[op] ?? 0), 0);
      const versus = (name: string, value: number | undefined) => (value ? { baseline: { name, value } } : {});
      for (const op of ops.slice(0, LISTED_OPS)) {
        report({ name: `op time, ${op} (product, 2 threads)`, value: two.profile!.byOp[op], unit: 's', ...versus('all heads', allHeads.profile!.byOp[op]) });
      }
      report({ name: 'op time, other ops (product, 2 threads)', value: other(two.profile!), unit: 's', baseline: { name: 'all heads', value: other(allHeads.profile!) } });
      const headsOnly = Object.entries(allHeads.profile!.byOp).filter(([op]) => !ops.slice(0, LISTED_OPS).includes(op)).sort((a, b) => b[1] - a[1]);
      for (const [op, s] of headsOnly.slice(0, 2)) report({ name: `op time, ${op} (all heads, 2 threads)`, value: s, unit: 's', ...versus('product', two.profile!.byOp[op]) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
