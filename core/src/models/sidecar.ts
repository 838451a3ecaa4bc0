// A checkpoint's architecture: from its optional sidecar YAML (the v1-inference.yaml structure that
// AUTOMATIC1111 reads from `model.yaml` next to `model.safetensors`), else SD1.5's. Weight shapes cannot give
// every hyper-parameter (head counts), but they can prove a wrong guess: a few tell-tale shapes are checked
// so a tiny or unusual checkpoint without its YAML fails with a clear message instead of a broken graph.
// SDXL checkpoints read the sgm YAML (sd_xl_base.yaml structure) and take the rest from their shapes (sdxl-arch.ts).
import { archFromLdmConfig, SD15_ARCH, type SdArchitecture, type UnetArch } from './arch.js';
import { SD1_TEXT_PREFIXES, type ShapeOf } from './detect.js';
import type { FamilyId } from './family.js';
import { archFromSgmConfig, SDXL_HEAD_WIDTH, sdxlArchFromShapes } from './sdxl-arch.js';

export interface ResolveOptions {
  /** Parsed YAML (the `yaml` package's output), or undefined when there is no sidecar. */
  yaml?: unknown;
  shapeOf: ShapeOf;
  keys: readonly string[];
  /** File names for messages: the checkpoint, and the sidecar it would have. */
  label: string;
  sidecarName: string;
  /** The detected family (default SD1.x): SDXL reads an sgm YAML and takes what it lacks from the shapes. */
  family?: FamilyId;
}

type Expectation = [key: string, shape: number[]];

function resolveSdxl(opts: ResolveOptions): SdArchitecture {
  let fromShapes: SdArchitecture;
  try {
    fromShapes = sdxlArchFromShapes(opts.keys, opts.shapeOf);
  } catch (err) {
    throw new Error(`${opts.label}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (opts.yaml === undefined) {
    // Head counts come from SDXL's 64-wide heads; a width they do not divide is a non-standard model.
    const a = fromShapes;
    const widths = [...a.unet.channelMult.map((m) => a.unet.modelChannels * m), a.textEncoder.hiddenSize, a.textEncoder2!.width];
    if (widths.some((w) => w % SDXL_HEAD_WIDTH !== 0)) {
      throw new Error(`${opts.label}: widths ${widths.join(', ')} are not all multiples of SDXL's ${SDXL_HEAD_WIDTH}-wide attention heads, so its head counts cannot be read from the weights; put a ${opts.sidecarName} (sd_xl_base.yaml format) next to it`);
    }
    return fromShapes;
  }
  try {
    return archFromSgmConfig(opts.yaml, fromShapes);
  } catch (err) {
    throw new Error(`${opts.sidecarName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function resolveArchitecture(opts: ResolveOptions): SdArchitecture {
  if (opts.family === 'sdxl') return resolveSdxl(opts);
  const { shapeOf, keys } = opts;
  let arch: SdArchitecture;
  if (opts.yaml !== undefined) {
    try {
      arch = archFromLdmConfig(opts.yaml);
    } catch (err) {
      throw new Error(`${opts.sidecarName}: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else {
    // Without a YAML, A1111 tells inpainting models by their 9 input channels; do the same.
    const unetIn = shapeOf('model.diffusion_model.input_blocks.0.0.weight')?.[1];
    const cnIn = shapeOf('control_model.input_hint_block.0.weight')?.[1];
    arch = {
      ...SD15_ARCH,
      unet: { ...SD15_ARCH.unet, inChannels: unetIn === 9 ? 9 : SD15_ARCH.unet.inChannels },
      controlnet: { ...SD15_ARCH.controlnet, hintChannels: cnIn ?? SD15_ARCH.controlnet.hintChannels },
    };
  }
  const has = (p: string) => keys.some((k) => k.startsWith(p));
  const expected: Expectation[] = [];
  const absent: string[] = [];
  if (has('model.diffusion_model.')) unetExpectations('model.diffusion_model.', arch.unet, true, expected, absent);
  if (has('control_model.')) {
    unetExpectations('control_model.', arch.controlnet, false, expected, absent);
    const mc = arch.controlnet.modelChannels;
    expected.push(['control_model.input_hint_block.0.weight', [16, arch.controlnet.hintChannels, 3, 3]], ['control_model.zero_convs.0.0.weight', [mc, mc, 1, 1]]);
  }
  if (has('first_stage_model.')) vaeExpectations(arch, expected, absent);
  const text = SD1_TEXT_PREFIXES.find((p) => has(p));
  if (text) textExpectations(text, arch, expected, absent);

  const against = opts.yaml !== undefined ? opts.sidecarName : 'SD1.5';
  const fix = opts.yaml !== undefined ? `fix ${opts.sidecarName}` : `put a ${opts.sidecarName} next to it`;
  for (const [key, shape] of expected) {
    const actual = shapeOf(key);
    if (!actual) throw new Error(`${opts.label}: tensor ${key} is missing (expected by ${against}); ${fix}`);
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      throw new Error(`${opts.label}: tensor shapes do not match ${against} (${key} is [${actual.join(', ')}], expected [${shape.join(', ')}]); ${fix}`);
    }
  }
  for (const p of absent) {
    if (has(p)) throw new Error(`${opts.label}: has more blocks than ${against} describes (found ${p}*); ${fix}`);
  }
  return arch;
}

function unetExpectations(p: string, u: UnetArch, withOutput: boolean, expected: Expectation[], absent: string[]): void {
  const mc = u.modelChannels;
  const last = mc * u.channelMult[u.channelMult.length - 1];
  // input_blocks: conv_in, then per level numResBlocks blocks and (except the last level) a downsample.
  const lastInput = u.channelMult.length * (u.numResBlocks + 1) - 1;
  expected.push(
    [`${p}input_blocks.0.0.weight`, [mc, u.inChannels, 3, 3]],
    [`${p}time_embed.0.weight`, [4 * mc, mc]],
    [`${p}input_blocks.${lastInput}.0.emb_layers.1.weight`, [last, 4 * mc]],
    [`${p}middle_block.0.in_layers.2.weight`, [last, last, 3, 3]],
    [`${p}middle_block.1.transformer_blocks.0.attn2.to_k.weight`, [last, u.contextDim]],
  );
  absent.push(`${p}input_blocks.${lastInput + 1}.`);
  if (withOutput) expected.push([`${p}out.2.weight`, [u.outChannels, mc, 3, 3]]);
}

function vaeExpectations(arch: SdArchitecture, expected: Expectation[], absent: string[]): void {
  const v = arch.vae;
  const p = 'first_stage_model.';
  const levels = v.chMult.length;
  const last = v.ch * v.chMult[levels - 1];
  // Level i's first block takes the previous level's width (the first level takes `ch`).
  const lastIn = levels > 1 ? v.ch * v.chMult[levels - 2] : v.ch;
  expected.push(
    [`${p}encoder.conv_in.weight`, [v.ch, v.inChannels, 3, 3]],
    [`${p}encoder.down.${levels - 1}.block.0.conv1.weight`, [last, lastIn, 3, 3]],
    [`${p}decoder.conv_in.weight`, [last, v.zChannels, 3, 3]],
    [`${p}quant_conv.weight`, [2 * v.embedDim, 2 * v.zChannels, 1, 1]],
    [`${p}decoder.conv_out.weight`, [v.outCh, v.ch, 3, 3]],
  );
  absent.push(`${p}encoder.down.${levels}.`);
}

function textExpectations(p: string, arch: SdArchitecture, expected: Expectation[], absent: string[]): void {
  const t = arch.textEncoder;
  expected.push(
    [`${p}embeddings.token_embedding.weight`, [t.vocabSize, t.hiddenSize]],
    [`${p}embeddings.position_embedding.weight`, [t.maxPositions, t.hiddenSize]],
    [`${p}encoder.layers.${t.numLayers - 1}.mlp.fc1.weight`, [t.intermediateSize, t.hiddenSize]],
  );
  absent.push(`${p}encoder.layers.${t.numLayers}.`);
}
