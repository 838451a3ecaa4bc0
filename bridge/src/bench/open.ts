// Bench suite `open`: how long a full-size SD1.5 checkpoint (random weights, fp32, graphs already built) takes
// to open on the CPU, against today's path in the same run: every session created from the built graph at
// graphOptimizationLevel 'all'. The new path stores ONNX Runtime's optimised graphs on the first (cold) open
// and creates sessions from them afterwards (warm), and leaves the VAE encoder to the first job that encodes.
// Then the UNet's first call on the warm model against its later calls (512x512, batch 2 as CFG runs it), and
// its output against today's session's, bit for bit.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { encodeImageMean, encodeText, predictNoise, zeroResiduals, type Conditioning } from '@kirie/core/pipeline/models';
import { describeSdIo, type SdModel } from '@kirie/core/models/sessions';
import { buildCheckpoint, openModel, sd1Plans, type LoadedModel } from '../models/load.js';
import { defaultTokenizer, releaseAll } from '../models/options.js';
import { LazySession } from '../models/lazy-session.js';
import { createSession } from '../runtime/session.js';
import { fullSizeWanted, withFullSize } from './fullsize.js';
import { median } from './stats.js';
import type { BenchSuite } from './types.js';

const seconds = (since: number) => (performance.now() - since) / 1000;

/** Batch-2 inputs of one CFG step at 512x512: prompt and negative prompt, a fixed latent. */
async function unetInputs(model: LoadedModel): Promise<{ latents: { data: Float32Array; dims: number[] }; context: Conditioning }> {
  const rows = [await encodeText(ort, model, Array.from(model.tokenizer.encodePadded('a red fox in the snow'))), await encodeText(ort, model, Array.from(model.tokenizer.encodePadded('blurry')))];
  const data = new Float32Array(rows[0].length * 2);
  rows.forEach((r, i) => data.set(r, i * r.length));
  const dims = [2, 4, 64, 64];
  const latents = Float32Array.from({ length: 2 * 4 * 64 * 64 }, (_, i) => Math.sin(i * 0.37));
  return { latents: { data: latents, dims }, context: { data, dims: [2, 77, rows[0].length / 77] } };
}

async function timedUnetCall(model: SdModel, inputs: Awaited<ReturnType<typeof unetInputs>>): Promise<{ s: number; out: Float32Array }> {
  const started = performance.now();
  const out = await predictNoise(ort, model, inputs.latents, 500, inputs.context, zeroResiduals(model, inputs.latents.dims));
  return { s: seconds(started), out };
}

/** The VAE encoder's first run (on a 64x64 image, milliseconds of work): what creating it costs a job. */
async function encodeOnce(model: LoadedModel): Promise<void> {
  if (!(model.vaeEncoder instanceof LazySession)) throw new Error('the VAE encoder was created with the model: expected it to wait for its first use');
  await encodeImageMean(ort, model, { data: new Float32Array(3 * 64 * 64), dims: [1, 3, 64, 64] });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export const openSuite: BenchSuite = {
  name: 'open',
  description: 'opening a built full-size SD1.5 model on the CPU: stored optimised graphs (cold, warm) against creating every session at level all; first UNet call against later ones (run by name or KIRIE_BENCH_FULL=1)',
  async run(report) {
    if (!fullSizeWanted('open')) {
      console.log('  (full-size only: run `npm run bench -- open` or set KIRIE_BENCH_FULL=1; needs ~14 GB of disk and several minutes)');
      return;
    }
    await withFullSize(async ({ checkpoint, cacheDir }) => {
      // Built before anything is timed; stored optimised graphs of an earlier run are removed so the cold open is cold.
      const built = await buildCheckpoint(checkpoint, sd1Plans('fp32'), { cacheDir }, 'checkpoint');
      await rm(join(built.dir, 'ort'), { recursive: true, force: true });

      // Today's path: the cache hit, then every component's session from the built graph, optimised at load.
      let started = performance.now();
      await buildCheckpoint(checkpoint, sd1Plans('fp32'), { cacheDir }, 'checkpoint');
      const today: InferenceSession[] = [];
      for (const c of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) today.push((await createSession(join(built.dir, `${c}.onnx`), { device: 'cpu' })).session);
      const todayOpen = seconds(started);
      const [textEncoder, unet, vaeDecoder, vaeEncoder] = today as [InferenceSession, InferenceSession, InferenceSession, InferenceSession];
      const todayModel: LoadedModel = {
        name: 'today',
        tokenizer: await defaultTokenizer(),
        textEncoder,
        unet,
        vaeDecoder,
        vaeEncoder,
        io: describeSdIo({ textEncoder, unet, vaeDecoder, vaeEncoder }),
        vaeScalingFactor: built.arch.vae.scaleFactor,
        release: () => releaseAll(today),
      };
      let reference: Float32Array;
      let todayFirstCall: number;
      try {
        const call = await timedUnetCall(todayModel, await unetInputs(todayModel));
        [reference, todayFirstCall] = [call.out, call.s];
      } finally {
        await todayModel.release();
      }

      started = performance.now();
      const cold = await openModel(checkpoint, { device: 'cpu', cacheDir });
      const coldOpen = seconds(started);
      started = performance.now();
      await encodeOnce(cold);
      const coldEncoder = seconds(started);
      await cold.release();
      const stored = (await readdir(join(built.dir, 'ort'))).filter((n) => !n.startsWith('.'));
      if (stored.length !== 4) throw new Error(`the cold open stored ${stored.join(', ') || 'nothing'}: expected the four components' optimised graphs`);

      started = performance.now();
      const warm = await openModel(checkpoint, { device: 'cpu', cacheDir });
      const warmOpen = seconds(started);
      try {
        started = performance.now();
        await encodeOnce(warm);
        const warmEncoder = seconds(started);
        report({ name: 'cold open (stores the optimised graphs): text encoder, UNet, VAE decoder', value: coldOpen, unit: 's', baseline: { name: "today's open: cache hit + 4 sessions optimised at load", value: todayOpen } });
        report({ name: 'warm open (stored graphs reused): text encoder, UNet, VAE decoder, ready for txt2img', value: warmOpen, unit: 's', baseline: { name: "today's open", value: todayOpen }, target: '≤ 3 s' });
        report({ name: 'warm open + the VAE encoder (img2img / inpaint)', value: warmOpen + warmEncoder, unit: 's', baseline: { name: "today's open", value: todayOpen } });
        report({ name: 'VAE encoder created on first use (a 64x64 encode), warm', value: warmEncoder, unit: 's', baseline: { name: 'cold (optimised and stored)', value: coldEncoder } });

        const inputs = await unetInputs(warm);
        const calls = [await timedUnetCall(warm, inputs), await timedUnetCall(warm, inputs), await timedUnetCall(warm, inputs)];
        const later = median(calls.slice(1).map((c) => c.s));
        report({ name: 'warm model: first UNet call (512x512, batch 2)', value: calls[0]!.s, unit: 's', baseline: { name: 'later calls (median of 2)', value: later }, target: '≤ 1.2x' });
        report({ name: 'warm model: later UNet call', value: later, unit: 's', baseline: { name: "today's session, first call", value: todayFirstCall } });
        report({ name: "UNet output, stored graph vs today's session: max |difference|", value: maxAbsDiff(calls[0]!.out, reference), unit: '', target: '0 (bit for bit)' });
      } finally {
        await warm.release();
      }
    });
  },
};
