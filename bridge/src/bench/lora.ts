// LoRA switching on a full-size SD1.5 model (random weights) with a rank-32 LoRA on every attention and conv
// layer (kohya LoCon names, fp16 as CivitAI files are): the time to apply a LoRA and to change its multiplier
// on a loaded model, and a 512x512 CFG UNet step with the LoRA against the same step with none, measured in
// this process. Also the UNet built without adapter inputs (what a model without LoRA support runs) and what
// opening that UNet costs, i.e. what every switch would cost in a design that merges LoRAs into the weights
// and reopens the session. Needs ~12 GB of disk and several minutes.
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { adapterFeeds, slotsOf, type AdapterFeeds, type AdapterSlots } from '@kirie/core/adapters/slots';
import type { ModuleTable } from '@kirie/core/adapters/targets';
import { float32ToHalf, serializeSafetensorsHeader, type SafetensorsLayoutEntry } from '@kirie/core/models/safetensors';
import { describeSdIo } from '@kirie/core/models/sessions';
import { predictNoise, zeroResiduals } from '@kirie/core/pipeline/models';
import { loadLora } from '../models/adapter-files.js';
import { buildCheckpoint, sd1Plans } from '../models/load.js';
import { writeRandomCheckpoint } from '../models/random.js';
import { createSession } from '../runtime/session.js';
import { median } from './stats.js';
import type { BenchSuite } from './types.js';

const RANK = 32;
const TEXT_META = { inputMetadata: [{ name: 'input_ids', isTensor: true, type: 'int32', shape: ['b', 's'] }], outputMetadata: [{ name: 'last_hidden_state', isTensor: true, type: 'float32', shape: ['b', 's', 768] }] } as const;
const DECODER_META = { inputMetadata: [{ name: 'latent_sample', isTensor: true, type: 'float32', shape: ['b', 4, 'h', 'w'] }], outputMetadata: [{ name: 'sample', isTensor: true, type: 'float32', shape: ['b', 3, 'H', 'W'] }] } as const;
const SIZE = 512;
const RUNS = 3;

/** Modules of a plain kohya LoRA: the transformers' layers (attention, feed-forward, proj_in/out) and the text encoder. */
const ATTENTION_ONLY = (module: string) => !/\.(in_layers\.2|out_layers\.3|emb_layers\.1|skip_connection|\d+\.op|\d+\.conv)$/.test(module);

/** A kohya LoRA (LoCon with `every`) on the adaptable modules of `table`, rank 32, alpha 16, fp16. */
async function writeRankLora(path: string, table: ModuleTable, every: boolean): Promise<number> {
  const entries: SafetensorsLayoutEntry[] = [];
  const values: Float32Array[] = [];
  let seed = 1;
  const random = (n: number, bound: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      out[i] = (seed / 2 ** 32 - 0.5) * 2 * bound;
    }
    return out;
  };
  for (const [module, shape] of table.shapes) {
    const path = table.diffusers.get(module);
    if (!path || !(every || ATTENTION_ONLY(module))) continue;
    const name = `${module.startsWith('model.') ? 'lora_unet_' : 'lora_te_'}${path.replace(/\./g, '_')}`;
    const inShape = shape.slice(1);
    const inFlat = inShape.reduce((a, b) => a * b, 1);
    const out = shape[0]!;
    entries.push({ name: `${name}.lora_down.weight`, dtype: 'F16', shape: [RANK, ...inShape] }, { name: `${name}.lora_up.weight`, dtype: 'F16', shape: [out, RANK, ...inShape.map(() => 1).slice(1)] });
    values.push(random(RANK * inFlat, 1 / Math.sqrt(inFlat)), random(out * RANK, 0.01));
    entries.push({ name: `${name}.alpha`, dtype: 'F16', shape: [] });
    values.push(Float32Array.of(16));
  }
  const { prefix, fileSize } = serializeSafetensorsHeader(entries, { ss_network_module: 'networks.lora', ss_network_dim: String(RANK), ss_network_alpha: '16' });
  const handle = await open(path, 'w');
  try {
    let position = 0;
    for (const bytes of [prefix, ...values.map((v) => new Uint8Array(float32ToHalf(v).buffer))]) {
      await handle.write(bytes, 0, bytes.length, position);
      position += bytes.length;
    }
  } finally {
    await handle.close();
  }
  return fileSize;
}

/** Wall time, and this process's CPU time: on a loaded machine the wall time of single-threaded work is mostly waiting. */
async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await run();
  const used = process.cpuUsage(cpu);
  return { value, ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
}

export const loraSuite: BenchSuite = {
  name: 'lora',
  description: 'full-size SD1.5 + rank-32 LoRA on every attention/conv layer: apply and change time, UNet step with vs without (slow: ~12 GB disk)',
  async run(report) {
    if (!process.argv.slice(2).includes('lora') && process.env.KIRIE_BENCH_FULL !== '1') {
      console.log('  (full-size only: run `npm run bench -- lora` or set KIRIE_BENCH_FULL=1; needs ~12 GB of disk and several minutes)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'kirie-bench-lora-'));
    try {
      const { path } = await writeRandomCheckpoint({ arch: 'sd15', kind: 'sd15', seed: 1, out: join(dir, 'sd15-random.safetensors') });
      const cacheDir = join(dir, 'cache');
      const [, unetPlan] = sd1Plans('fp32');
      const slotted = await buildCheckpoint(path, [unetPlan!], { cacheDir }, 'checkpoint');
      const plain = await buildCheckpoint(path, [{ ...unetPlan!, options: { ...unetPlan!.options, adapterSlots: false } }], { cacheDir }, 'checkpoint');
      const table = slotted.adapterTable;
      if (!table) throw new Error('the SD1.5 build has no adapter table');
      const loraPath = join(dir, 'style-locon-rank32.safetensors');
      const bytes = await writeRankLora(loraPath, table, true);
      const attentionPath = join(dir, 'style-rank32.safetensors');
      await writeRankLora(attentionPath, table, false);

      const opened = await timed(() => createSession(join(plain.dir, plain.models.unet!), { device: 'cpu' }));
      report({ name: 'open the UNet session (what each switch costs when LoRAs are merged into the weights)', value: opened.ms / 1000, unit: 's' });
      const unet = (await createSession(join(slotted.dir, slotted.models.unet!), { device: 'cpu' })).session;
      const slots: AdapterSlots = { unet: slotsOf(unet), textEncoder: [] };

      const applied = await timed(async () => adapterFeeds(slots, [{ adapter: await loadLora(loraPath, table), unet: 0.8, textEncoder: 0.8 }], [], false));
      report({ name: `apply a ${(bytes / 2 ** 20).toFixed(0)} MB rank-${RANK} LoCon on every attention and conv layer (read, map, feeds)`, value: applied.ms / 1000, unit: 's', target: '≤ 3 s' });
      report({ name: '  of which CPU time of this process', value: applied.cpuMs / 1000, unit: 's' });
      const adapter = await loadLora(loraPath, table);
      const changed = await timed(async () => adapterFeeds(slots, [{ adapter, unet: 0.6, textEncoder: 0.6 }], [], false));
      report({ name: 'change its multiplier (file already read)', value: changed.ms / 1000, unit: 's', target: '≤ 3 s' });
      report({ name: '  of which CPU time of this process', value: changed.cpuMs / 1000, unit: 's' });
      const feedBytes = changed.value.unet.reduce((n, f) => n + f.data.byteLength, 0);
      report({ name: 'adapter inputs fed per UNet run (zero-copy on the CPU)', value: feedBytes / 2 ** 20, unit: 'MB' });

      // A 512x512 CFG step's UNet call (batch 2, zero ControlNet residuals) through the pipeline's own
      // predictNoise; only the UNet is built, so the other graphs' metadata is stated here.
      const fake = (session: ort.InferenceSession) => ({ unet: session, io: describeSdIo({ textEncoder: TEXT_META, unet: session, vaeDecoder: DECODER_META }) });
      const h = SIZE / 8;
      const input = { data: new Float32Array(2 * 4 * h * h).map((_, i) => Math.sin(i)), dims: [2, 4, h, h] };
      const context = { data: new Float32Array(2 * 77 * 768).map((_, i) => Math.cos(i) * 0.5), dims: [2, 77, 768] };
      const step = async (session: ort.InferenceSession, feeds?: AdapterFeeds) => {
        const model = fake(session) as unknown as Parameters<typeof predictNoise>[1];
        return (await timed(() => predictNoise(ort, model, input, 500, context, zeroResiduals(model, input.dims), feeds))).ms;
      };
      const idle = adapterFeeds(slots, [], [], false);
      await step(unet, idle); // warm-up: first-run allocations
      const plainSession = opened.value.session;
      await step(plainSession);
      const attention = adapterFeeds(slots, [{ adapter: await loadLora(attentionPath, table), unet: 0.8, textEncoder: 0.8 }], [], false);
      const times = { none: [] as number[], locon: [] as number[], attention: [] as number[], plain: [] as number[] };
      // Interleaved, so load from other processes falls on all alike.
      for (let i = 0; i < RUNS; i++) {
        times.none.push(await step(unet, idle));
        times.locon.push(await step(unet, changed.value));
        times.attention.push(await step(unet, attention));
        times.plain.push(await step(plainSession));
      }
      const none = median(times.none);
      const plainMs = median(times.plain);
      for (const [what, ms] of [[`rank-${RANK} LoRA on every attention layer (kohya LoRA)`, median(times.attention)], [`rank-${RANK} LoCon on every attention and conv layer`, median(times.locon)]] as const) {
        report({ name: `UNet step ${SIZE}x${SIZE} CFG, ${what}`, value: ms / 1000, unit: 's', baseline: { name: 'no LoRA, same graph', value: none / 1000 } });
        report({ name: `slower per step with the ${what.split(' on ')[0]!.replace(/^rank-\d+ /, '')} than without`, value: (100 * (ms - none)) / none, unit: '%', target: '≤ 5 %' });
      }
      report({ name: `UNet step ${SIZE}x${SIZE} CFG, no LoRA, graph with adapter inputs`, value: none / 1000, unit: 's', baseline: { name: 'a UNet built without adapter inputs', value: plainMs / 1000 } });
      report({ name: 'cost of idle adapter inputs per step', value: (100 * (none - plainMs)) / plainMs, unit: '%' });
      await unet.release();
      await plainSession.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
