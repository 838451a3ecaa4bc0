// Opens what a user points Kirie at, a single-file checkpoint or an exported ONNX folder, as the one
// SdModel / ControlNetModel the pipeline runs. Checkpoints are built into ONNX graphs once and cached.
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { SdArchitecture } from '@kirie/core/models/arch';
import { FAMILIES, SD1_FAMILY, type ModelFamily } from '@kirie/core/models/family';
import { graphIoMetadata } from '@kirie/core/models/graph-io';
import { describeControlNetIo, describeSdIo, type ControlNetModel } from '@kirie/core/models/sessions';
import type { BuildOptions } from '@kirie/core/models/types';
import { moduleTable, type ModuleTable } from '@kirie/core/adapters/targets';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, preferredProvider, resolveProvider, type Device } from '../runtime/session.js';
import { forProvider } from '../runtime/webgpu.js';
import { buildIntoCache, cacheKey, lookup, type ComponentPlan } from './cache.js';
import { openCheckpoint } from './checkpoint.js';
import { openOnnxFolder } from './folder.js';
import { LazySession } from './lazy-session.js';
import { openBuiltSession } from './optimized.js';
import { defaultCacheDir, defaultTokenizer, familyTokenizers, releaseAll, type LoadedModel, type OpenOptions } from './options.js';

export type { LoadedModel, OpenOptions } from './options.js';

/**
 * GPU providers get float16 graphs (half the memory, tensor cores); the CPU runs float32, and so does WebGPU:
 * float16 needs the adapter's shader-f16 feature, which onnxruntime-node does not let Kirie see.
 */
export async function precisionFor(device: Device, log?: (message: string) => void): Promise<BuildOptions['precision']> {
  const provider = await resolveProvider(device, log);
  return provider === 'cpu' || provider === 'webgpu' ? 'fp32' : 'fp16';
}

/**
 * The bridge runs its graphs on onnxruntime-node, which has the com.microsoft MultiHeadAttention op on every
 * provider (CPU flash attention, fused CUDA kernels; a provider without it runs those nodes on the CPU).
 * Measured for one full-size 512x512 batch-2 UNet call on 2 CPU cores: 8.3 s / 3.8 GiB peak fused, against
 * 10.4 s / 4.1 GiB for head-by-head MatMul/Softmax (npm run bench -- unet).
 */
const FUSED_ATTENTION = true;

/**
 * LoRAs and embeddings are graph inputs (core/src/adapters/slots.ts: why merged-in-graph for linear layers and
 * side branches for convolutions), so switching them changes only what each run is fed; `npm run bench -- lora`
 * measures it against the UNet built without them and against reopening a session per switch.
 */
const ADAPTER_SLOTS = true;

export function sd1Plans(precision: BuildOptions['precision']): ComponentPlan[] {
  return [
    { component: 'text_encoder', options: { precision, clipSkip: 1, adapterSlots: ADAPTER_SLOTS }, external: true },
    // One UNet serves both: with no ControlNet the pipeline feeds zero residuals (exactly "no control").
    // Its DeepCache feature outputs are fetched only by full DeepCache calls.
    { component: 'unet', options: { precision, controlResiduals: true, fusedAttention: FUSED_ATTENTION, adapterSlots: ADAPTER_SLOTS, deepCacheFeatures: true }, external: true },
    { component: 'vae_decoder', options: { precision }, external: true },
    { component: 'vae_encoder', options: { precision }, external: true },
  ];
}

/**
 * SDXL: both text encoders, the UNet with ControlNet residual inputs (fed zeros until SDXL ControlNets are
 * built) and DeepCache features, and the VAE in float32 whatever the precision (family.vaeFloat32).
 */
export function familyPlans(family: ModelFamily, precision: BuildOptions['precision']): ComponentPlan[] {
  if (family.id === SD1_FAMILY.id) return sd1Plans(precision);
  const vae = family.vaeFloat32 ? 'fp32' : precision;
  return [
    ...family.textEncoders.map((t): ComponentPlan => ({ component: t.component, options: { precision, clipSkip: 1, adapterSlots: family.adapters }, external: true })),
    { component: 'unet', options: { precision, controlResiduals: true, fusedAttention: FUSED_ATTENTION, adapterSlots: family.adapters, deepCacheFeatures: true }, external: true },
    { component: 'vae_decoder', options: { precision: vae }, external: true },
    { component: 'vae_encoder', options: { precision: vae }, external: true },
  ];
}

export function controlNetPlans(precision: BuildOptions['precision']): ComponentPlan[] {
  return [{ component: 'controlnet', options: { precision, fusedAttention: FUSED_ATTENTION }, external: true }];
}

interface Built {
  dir: string;
  models: Partial<Record<string, string>>;
  arch: SdArchitecture;
  /** The weights adapters may change; absent for families whose graphs take no adapters. */
  adapterTable?: ModuleTable;
}

/**
 * Builds (or finds in the cache) the graphs of a checkpoint; returns where they are. `plans` may depend on
 * the checkpoint's family, known once its header is read.
 */
export async function buildCheckpoint(
  path: string,
  plans: ComponentPlan[] | ((family: ModelFamily) => ComponentPlan[]),
  opts: OpenOptions,
  expect: 'checkpoint' | 'controlnet',
): Promise<Built> {
  const ckpt = await openCheckpoint(path);
  try {
    if (ckpt.kind.kind !== expect) {
      throw new Error(expect === 'checkpoint' ? `${ckpt.file.label} is a ControlNet, not a Stable Diffusion checkpoint: load it as a control model` : `${ckpt.file.label} is a Stable Diffusion checkpoint, not a ControlNet`);
    }
    const family = FAMILIES[ckpt.arch.family];
    const chosen = forProvider(typeof plans === 'function' ? plans(family) : plans, preferredProvider(opts.device ?? 'auto'));
    const cacheDir = opts.cacheDir ?? defaultCacheDir();
    const key = await cacheKey(ckpt.file, chosen, ckpt.sidecarText);
    const hit = await lookup(cacheDir, key);
    const found = hit ?? (await buildIntoCache({ cacheDir, key, source: ckpt.file, arch: ckpt.arch, plans: chosen, onProgress: opts.onProgress }));
    const adapterTable = family.adapters ? moduleTable(ckpt.file.keys(), (k) => ckpt.file.shape(k), ckpt.arch.unet) : undefined;
    return { dir: found.dir, models: found.manifest.models, arch: ckpt.arch, ...(adapterTable ? { adapterTable } : {}) };
  } finally {
    await ckpt.file.close();
  }
}

async function sessionsIn(dir: string, models: Partial<Record<string, string>>, names: string[], opts: OpenOptions): Promise<InferenceSession[]> {
  const sessions: InferenceSession[] = [];
  try {
    for (const name of names) {
      const file = models[name];
      if (!file) throw new Error(`${dir}: the cached build has no ${name}`);
      sessions.push((await openBuiltSession(join(dir, file), { device: opts.device ?? 'auto', log: opts.log })).session);
    }
    return sessions;
  } catch (err) {
    await releaseAll(sessions);
    throw err;
  }
}

/** A session only some jobs run (the VAE encoder: img2img and inpainting): created when first run. */
async function lazyIn(dir: string, models: Partial<Record<string, string>>, name: string, opts: OpenOptions): Promise<LazySession> {
  const file = models[name];
  if (!file) throw new Error(`${dir}: the cached build has no ${name}`);
  const graph = join(dir, file);
  return new LazySession(graphIoMetadata(await readFile(graph)), async () => (await openBuiltSession(graph, { device: opts.device ?? 'auto', log: opts.log })).session);
}

/** A family with two text encoders (SDXL): no clip skip yet (family.clipSkip); embeddings feed both encoders. */
async function openTwoEncoderModel(path: string, built: Built, opts: OpenOptions): Promise<LoadedModel> {
  const family = FAMILIES[built.arch.family];
  const [tokenizer, tokenizer2] = await familyTokenizers(family);
  const vaeEncoder = await lazyIn(built.dir, built.models, 'vae_encoder', opts);
  const [textEncoder, textEncoder2, unet, vaeDecoder] = await sessionsIn(built.dir, built.models, ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder'], opts);
  const all = [textEncoder, textEncoder2, unet, vaeDecoder, vaeEncoder];
  try {
    const io = describeSdIo({ textEncoder, textEncoder2, unet, vaeDecoder, vaeEncoder });
    return {
      name: basename(path),
      family: family.id,
      tokenizer,
      tokenizer2,
      textEncoder,
      textEncoder2,
      unet,
      vaeDecoder,
      vaeEncoder,
      io,
      vaeScalingFactor: built.arch.vae.scaleFactor,
      schedulerConfig: { ...family.schedulerConfig },
      ...(built.adapterTable ? { adapterTable: built.adapterTable } : {}),
      release: () => releaseAll(all),
    };
  } catch (err) {
    await releaseAll(all);
    throw err;
  }
}

async function openCheckpointModel(path: string, opts: OpenOptions): Promise<LoadedModel> {
  const precision = await precisionFor(opts.device ?? 'auto', opts.log);
  const built = await buildCheckpoint(path, (family) => familyPlans(family, precision), opts, 'checkpoint');
  if (FAMILIES[built.arch.family].textEncoders.length > 1) return openTwoEncoderModel(path, built, opts);
  const tokenizer = await defaultTokenizer();
  const vaeEncoder = await lazyIn(built.dir, built.models, 'vae_encoder', opts);
  const [textEncoder, unet, vaeDecoder] = await sessionsIn(built.dir, built.models, ['text_encoder', 'unet', 'vae_decoder'], opts);
  const all = [textEncoder, unet, vaeDecoder, vaeEncoder];
  try {
    const io = describeSdIo({ textEncoder, unet, vaeDecoder, vaeEncoder });
    const clipSkips = new Map<number, InferenceSession>([[1, textEncoder]]);
    const shallowUnets = new Map<number, InferenceSession>();
    return {
      name: basename(path),
      family: built.arch.family,
      tokenizer,
      textEncoder,
      unet,
      vaeDecoder,
      vaeEncoder,
      io,
      vaeScalingFactor: built.arch.vae.scaleFactor,
      ...(built.adapterTable ? { adapterTable: built.adapterTable } : {}),
      clipSkip: async (n: number) => {
        const cached = clipSkips.get(n);
        if (cached) return cached;
        const te = await buildCheckpoint(path, [{ component: 'text_encoder', options: { precision, clipSkip: n, adapterSlots: ADAPTER_SLOTS }, external: true }], opts, 'checkpoint');
        const [session] = await sessionsIn(te.dir, te.models, ['text_encoder'], opts);
        clipSkips.set(n, session);
        all.push(session);
        return session;
      },
      deepCacheUnet: async (branch: number) => {
        const cached = shallowUnets.get(branch);
        if (cached) return cached;
        // Only the outer blocks' weights: small beside the full UNet for the outermost branches.
        const plan: ComponentPlan = { component: 'unet', options: { precision, fusedAttention: FUSED_ATTENTION, adapterSlots: ADAPTER_SLOTS, deepCacheShallow: branch }, external: true };
        const shallow = await buildCheckpoint(path, [plan], opts, 'checkpoint');
        const [session] = await sessionsIn(shallow.dir, shallow.models, ['unet'], opts);
        shallowUnets.set(branch, session);
        all.push(session);
        return session;
      },
      release: () => releaseAll(all),
    };
  } catch (err) {
    await releaseAll(all);
    throw err;
  }
}

/** A checkpoint file (built and cached) or an ONNX folder (optimum, diffusers, Olive, OnnxStack/Amuse). */
export async function openModel(path: string, opts: OpenOptions = {}): Promise<LoadedModel> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new Error(`${path}: no such file or folder`);
  if (s.isDirectory()) return openOnnxFolder(path, opts);
  return openCheckpointModel(path, opts);
}

/** An LDM-format ControlNet checkpoint (built and cached) or a ControlNet .onnx file / folder holding model.onnx. */
export async function openControlNet(path: string, opts: OpenOptions = {}): Promise<ControlNetModel> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new Error(`${path}: no such file or folder`);
  const runtime = { device: opts.device ?? 'auto', log: opts.log };
  let session: InferenceSession;
  if (s.isDirectory()) session = (await createSession(join(path, 'model.onnx'), runtime)).session;
  else if (path.toLowerCase().endsWith('.onnx')) session = (await createSession(path, runtime)).session;
  else {
    const precision = await precisionFor(runtime.device, opts.log);
    const built = await buildCheckpoint(path, controlNetPlans(precision), opts, 'controlnet');
    session = (await openBuiltSession(join(built.dir, built.models.controlnet ?? 'controlnet.onnx'), runtime)).session;
  }
  try {
    return { name: basename(path), session, io: describeControlNetIo(session), release: () => session.release() };
  } catch (err) {
    await session.release();
    throw err;
  }
}
