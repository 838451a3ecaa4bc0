// ONNX model folders as users download them: optimum and diffusers' conversion script
// (text_encoder/, unet/, vae_decoder/, vae_encoder/ each with model.onnx, tokenizer/, scheduler/), Olive
// (same names, often float16) and OnnxStack/Amuse (the ControlNet-ready UNet under controlnet/). What each
// graph wants is read from its metadata (core/src/models/sessions.ts); folder names only say where to look.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeSdIo } from '@kirie/core/models/sessions';
import { unetInChannelsFromGraph } from '@kirie/core/models/graph-channels';
import { graphIoMetadata } from '@kirie/core/models/graph-io';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession } from '../runtime/session.js';
import { LazySession } from './lazy-session.js';
import { defaultTokenizer, releaseAll, type LoadedModel, type OpenOptions } from './options.js';
import { loadClipTokenizer } from './tokenizer-files.js';

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function numberField(json: Record<string, unknown> | undefined, field: string): number | undefined {
  const v = json?.[field];
  return typeof v === 'number' ? v : undefined;
}

function takesResiduals(s: InferenceSession): boolean {
  return s.inputNames.includes('encoder_hidden_states') && s.inputNames.includes('mid_block_additional_residual');
}

/**
 * diffusers' classic export names the sample's channel axis and writes no config.json: then the count comes
 * from the graph (its weights are external data, so model.onnx is small). Undefined when the metadata has it.
 */
async function graphChannels(path: string, unet: InferenceSession): Promise<number | undefined> {
  const sample = unet.inputMetadata.find((m) => m.name === 'sample');
  if (!sample?.isTensor || typeof sample.shape[1] === 'number') return undefined;
  return unetInChannelsFromGraph(await readFile(path), sample.name);
}

export async function openOnnxFolder(dir: string, opts: OpenOptions): Promise<LoadedModel> {
  const model = (sub: string) => join(dir, sub, 'model.onnx');
  const has = (sub: string) => existsSync(model(sub));
  if (!has('text_encoder') || !has('vae_decoder') || !(has('unet') || has('controlnet'))) {
    if (existsSync(join(dir, 'unet', 'diffusion_pytorch_model.safetensors')) || existsSync(join(dir, 'unet', 'diffusion_pytorch_model.bin'))) {
      throw new Error(`${dir} is a diffusers PyTorch folder (unet/diffusion_pytorch_model.*), not ONNX: use its single-file .safetensors checkpoint or an ONNX export`);
    }
    const missing = [['text_encoder', has('text_encoder')], ['unet (or controlnet)', has('unet') || has('controlnet')], ['vae_decoder', has('vae_decoder')]]
      .filter(([, ok]) => !ok)
      .map(([name]) => `${name}/model.onnx`);
    throw new Error(`${dir}: not an ONNX Stable Diffusion folder (missing ${missing.join(', ')})`);
  }
  const device = opts.device ?? 'auto';
  const open = async (sub: string) => (await createSession(model(sub), { device, log: opts.log })).session;
  const sessions: InferenceSession[] = [];
  const track = (s: InferenceSession) => (sessions.push(s), s);
  try {
    // OnnxStack/Amuse put a UNet with ControlNet residual inputs under controlnet/: it also runs without
    // control (zero residuals), so it replaces unet/ rather than loading a second multi-GB UNet.
    let unet: InferenceSession | undefined;
    let unetDir = 'unet';
    if (has('controlnet')) {
      const candidate = await open('controlnet');
      if (takesResiduals(candidate)) [unet, unetDir] = [track(candidate), 'controlnet'];
      else await candidate.release();
    }
    if (!unet) {
      if (!has('unet')) throw new Error(`${dir}: controlnet/model.onnx is not a UNet with ControlNet residual inputs, and there is no unet/model.onnx`);
      unet = track(await open('unet'));
    }
    const textEncoder = track(await open('text_encoder'));
    const vaeDecoder = track(await open('vae_decoder'));
    // Only img2img and inpainting run the encoder: described from its file, created by the first that does.
    const vaeEncoder = has('vae_encoder') ? track(new LazySession(graphIoMetadata(await readFile(model('vae_encoder'))), () => open('vae_encoder'))) : undefined;
    const unetConfig = await readJson(join(dir, unetDir, 'config.json'));
    const io = describeSdIo({ textEncoder, unet, vaeDecoder, vaeEncoder }, numberField(unetConfig, 'in_channels') ?? (await graphChannels(model(unetDir), unet)));

    let tokenizer;
    if (existsSync(join(dir, 'tokenizer'))) tokenizer = await loadClipTokenizer(join(dir, 'tokenizer'));
    else {
      opts.log?.(`${basename(dir)}: no tokenizer/ folder, using CLIP's standard vocabulary`);
      tokenizer = await defaultTokenizer();
    }
    const vaeConfig = await readJson(join(dir, 'vae_decoder', 'config.json'));
    return {
      name: basename(dir),
      tokenizer,
      textEncoder,
      unet,
      vaeDecoder,
      vaeEncoder,
      io,
      vaeScalingFactor: numberField(vaeConfig, 'scaling_factor') ?? 0.18215,
      schedulerConfig: await readJson(join(dir, 'scheduler', 'scheduler_config.json')),
      release: () => releaseAll(sessions),
    };
  } catch (err) {
    await releaseAll(sessions);
    throw err;
  }
}
