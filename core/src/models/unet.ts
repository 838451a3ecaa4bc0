// The SD1.x and SDXL UNet (CompVis/sgm openaimodel.UNetModel layout, `model.diffusion_model.*`) and the parts
// the cldm ControlNet (`control_model.*`) shares with it: timestep embedding (plus SDXL's label_emb), ResBlocks,
// SpatialTransformers (per-level depth), the down path and the middle block.
import { expf } from '../rng/sleef.js';
import { headsFor, type UnetArch } from './arch.js';
import { FLOAT, type Graph } from './onnx/graph.js';
import { conv, gelu, groupNorm, layerNorm, linear, mergeHeads, multiHeadAttention, silu, splitHeads } from './onnx/layers.js';

export const UNET_PREFIX = 'model.diffusion_model.';
const RES_EPS = 1e-5;
const TRANSFORMER_NORM_EPS = 1e-6;
const LN_EPS = 1e-5;
/** GroupNorms split across CPU threads (layers.ts groupNorm): the UNet's activations are small. */
const PARALLEL_NORM = { parallel: true };

export interface UnetContext {
  g: Graph;
  arch: UnetArch;
  /** Key prefix, e.g. `model.diffusion_model.` or `control_model.`. */
  p: string;
  /** silu(time embedding) [T, 4·model_channels], T = 1 or batch. */
  embAct: string;
  context: string;
  /** Self-attention chunking (BuildOptions.attentionChunks). */
  chunks: number;
  /** BuildOptions.fusedAttention */
  fused: boolean;
  /** Side of the latent at the family's native resolution (SD1.x 64, SDXL 128), when known: see rowsAt. */
  nativeLatentSide?: number;
}

/** Declares sample/timestep/encoder_hidden_states and computes the time embedding. */
export interface AttentionOptions {
  chunks: number;
  fused: boolean;
  nativeLatentSide?: number;
}

/** A classifier-free-guided call's batch (unconditional ‖ conditional): what adapter slots are costed for. */
const CFG_BATCH = 2;
/** CLIP's context length: cross-attention keys and values multiply this many rows per image (77·k for long prompts). */
const CONTEXT_TOKENS = 77;

/** Rows (batch × tokens) a layer at downsampling factor `ds` multiplies at the native size (linear's `rows`). */
function rowsAt(c: UnetContext, ds: number): number | undefined {
  return c.nativeLatentSide === undefined ? undefined : CFG_BATCH * Math.ceil(c.nativeLatentSide / ds) ** 2;
}

export async function unetInputs(g: Graph, arch: UnetArch, p: string, attention: AttentionOptions): Promise<{ ctx: UnetContext; sample: string }> {
  const sample = g.floatInput('sample', ['batch', arch.inChannels, 'height', 'width']);
  g.input('timestep', FLOAT, ['timestep_batch']);
  const context = g.floatInput('encoder_hidden_states', ['batch', 'sequence', arch.contextDim]);
  const mc = arch.modelChannels;
  let emb = await linear(g, sinusoidal(g, 'timestep', mc), `${p}time_embed.0`, mc, 4 * mc, true, CFG_BATCH);
  emb = await linear(g, silu(g, emb), `${p}time_embed.2`, 4 * mc, 4 * mc, true, CFG_BATCH);
  if (arch.labelEmbedding) emb = g.op('Add', [emb, (await labelEmbedding(g, arch, p)).augEmb]);
  return { ctx: { g, arch, p, embAct: silu(g, emb), context, ...attention }, sample };
}

/**
 * Sinusoidal embedding [N, dim] of float32 values [N], computed in float32 (flip_sin_to_cos: cos first;
 * freq_shift 0) as diffusers/LDM do, then cast to the compute type.
 */
function sinusoidal(g: Graph, values: string, dim: number): string {
  const half = dim / 2;
  const args = g.op('Mul', [g.op('Unsqueeze', [values, g.ints([1])]), g.constantF32(timestepFrequencies(half), [1, half])]);
  const emb = g.op('Concat', [g.op('Cos', [args]), g.op('Sin', [args])], { axis: 1 });
  return g.dtype === FLOAT ? emb : g.op('Cast', [emb], { to: g.dtype });
}

/**
 * The embedding's frequencies as torch computes them on the CPU (diffusers get_timestep_embedding, LDM/sgm
 * timestep_embedding): exp(-ln(10000) · arange(half) / half), every step in float32 and exp from SLEEF. They
 * differ from correctly rounded ones by an ulp in half the entries, which at t ≈ 1000 moves sin/cos by ~1e-5.
 */
export function timestepFrequencies(half: number): number[] {
  const logMaxPeriod = Math.fround(-Math.log(10000));
  return Array.from({ length: half }, (_, i) => expf(Math.fround(Math.fround(logMaxPeriod * i) / half)));
}

/** Names of the added-conditioning inputs (diffusers' added_cond_kwargs, optimum's SDXL UNet inputs). */
export const TEXT_EMBEDS_INPUT = 'text_embeds';
export const TIME_IDS_INPUT = 'time_ids';

/**
 * SDXL's label_emb (diffusers add_embedding): [pooled text embedding ‖ sinusoidal embedding of each of the six
 * time ids] -> Linear, SiLU, Linear, added to the timestep embedding [B, 4·model_channels]. Returns the
 * intermediate values too (diffusers' time_embeds and add_embeds), which verification compares.
 */
export async function labelEmbedding(g: Graph, arch: UnetArch, p: string): Promise<{ timeEmbeds: string; addEmbeds: string; augEmb: string }> {
  const { pooledDim, timeIdDim } = arch.labelEmbedding!;
  const text = g.floatInput(TEXT_EMBEDS_INPUT, ['batch', pooledDim]);
  g.input(TIME_IDS_INPUT, FLOAT, ['batch', 6]);
  const flat = g.op('Reshape', [TIME_IDS_INPUT, g.ints([-1])]);
  const timeEmbeds = g.op('Reshape', [sinusoidal(g, flat, timeIdDim), g.ints([-1, 6 * timeIdDim])]);
  const mc = arch.modelChannels;
  const addEmbeds = g.op('Concat', [text, timeEmbeds], { axis: 1 });
  const h = await linear(g, addEmbeds, `${p}label_emb.0.0`, pooledDim + 6 * timeIdDim, 4 * mc, true, CFG_BATCH);
  return { timeEmbeds, addEmbeds, augEmb: await linear(g, silu(g, h), `${p}label_emb.0.2`, 4 * mc, 4 * mc, true, CFG_BATCH) };
}

export async function resBlock(c: UnetContext, x: string, key: string, cin: number, cout: number): Promise<string> {
  const { g } = c;
  let h = await conv(g, silu(g, await groupNorm(g, x, `${key}.in_layers.0`, cin, RES_EPS, PARALLEL_NORM)), `${key}.in_layers.2`, cin, cout, 3);
  const e = await linear(g, c.embAct, `${key}.emb_layers.1`, 4 * c.arch.modelChannels, cout, true, CFG_BATCH);
  h = g.op('Add', [h, g.op('Unsqueeze', [e, g.ints([2, 3])])]);
  h = await conv(g, silu(g, await groupNorm(g, h, `${key}.out_layers.0`, cout, RES_EPS, PARALLEL_NORM)), `${key}.out_layers.3`, cout, cout, 3);
  // skip_connection exists exactly when the channel count changes; the checkpoint decides.
  const skip = g.has(`${key}.skip_connection.weight`) ? await conv(g, x, `${key}.skip_connection`, cin, cout, 1) : x;
  if (skip === x && cin !== cout) throw new Error(`${key}: ${cin} -> ${cout} channels but no skip_connection in the checkpoint`);
  return g.op('Add', [skip, h]);
}

/** `rows`: the query rows at the native size (rowsAt); keys and values of cross-attention are the context's. */
async function attention(c: UnetContext, x: string, ctxIn: string, key: string, ch: number, ctxDim: number, self: boolean, rows?: number): Promise<string> {
  const { g } = c;
  const heads = headsFor(c.arch, ch);
  const d = ch / heads;
  const kvRows = self ? rows : CFG_BATCH * CONTEXT_TOKENS;
  if (c.fused) {
    // com.microsoft MultiHeadAttention takes [B, N, heads·d] q/k/v and never materialises the scores on CPU.
    const q3 = await linear(g, x, `${key}.to_q`, ch, ch, false, rows);
    const k3 = await linear(g, ctxIn, `${key}.to_k`, ctxDim, ch, false, kvRows);
    const v3 = await linear(g, ctxIn, `${key}.to_v`, ctxDim, ch, false, kvRows);
    const o = g.opN('MultiHeadAttention', [q3, k3, v3], { num_heads: heads, scale: 1 / Math.sqrt(d) }, 1, 'com.microsoft')[0];
    return linear(g, o, `${key}.to_out.0`, ch, ch, true, rows);
  }
  const q = splitHeads(g, await linear(g, x, `${key}.to_q`, ch, ch, false, rows), heads, d);
  const k = await linear(g, ctxIn, `${key}.to_k`, ctxDim, ch, false, kvRows);
  const kT = g.op('Transpose', [g.op('Reshape', [k, g.ints([0, 0, heads, d])])], { perm: [0, 2, 3, 1] });
  const v = splitHeads(g, await linear(g, ctxIn, `${key}.to_v`, ctxDim, ch, false, kvRows), heads, d);
  // Cross-attention scores are [B, heads, N, 77]: small, never chunked.
  const o = multiHeadAttention(g, q, kT, v, heads, 1 / Math.sqrt(d), { chunks: self ? c.chunks : 0 });
  return linear(g, mergeHeads(g, o, ch), `${key}.to_out.0`, ch, ch, true, rows);
}

async function feedForward(c: UnetContext, x: string, key: string, ch: number, rows?: number): Promise<string> {
  const { g } = c;
  const inner = 4 * ch;
  const proj = await linear(g, x, `${key}.net.0.proj`, ch, 2 * inner, true, rows);
  const [h, gate] = g.opN('Split', [proj, g.ints([inner, inner])], { axis: -1 }, 2);
  return linear(g, g.op('Mul', [h, gelu(g, gate)]), `${key}.net.2`, inner, ch, true, rows);
}

/** A SpatialTransformer at downsampling factor `ds`. */
export async function spatialTransformer(c: UnetContext, x: string, key: string, ch: number, depth: number, ds: number): Promise<string> {
  const { g, arch } = c;
  const rows = rowsAt(c, ds);
  const norm = await groupNorm(g, x, `${key}.norm`, ch, TRANSFORMER_NORM_EPS, PARALLEL_NORM);
  const toTokens = (s: string) => g.op('Transpose', [g.op('Reshape', [s, g.ints([0, ch, -1])])], { perm: [0, 2, 1] });
  let t = arch.useLinearInTransformer
    ? await linear(g, toTokens(norm), `${key}.proj_in`, ch, ch, true, rows)
    : toTokens(await conv(g, norm, `${key}.proj_in`, ch, ch, 1));
  for (let i = 0; i < depth; i++) {
    const b = `${key}.transformer_blocks.${i}`;
    const n1 = await layerNorm(g, t, `${b}.norm1`, ch, LN_EPS);
    t = g.op('Add', [t, await attention(c, n1, n1, `${b}.attn1`, ch, ch, true, rows)]);
    const n2 = await layerNorm(g, t, `${b}.norm2`, ch, LN_EPS);
    t = g.op('Add', [t, await attention(c, n2, c.context, `${b}.attn2`, ch, arch.contextDim, false, rows)]);
    t = g.op('Add', [t, await feedForward(c, await layerNorm(g, t, `${b}.norm3`, ch, LN_EPS), `${b}.ff`, ch, rows)]);
  }
  const toSpatial = (s: string) => g.op('Reshape', [g.op('Transpose', [s], { perm: [0, 2, 1] }), g.op('Shape', [x])]);
  const out = arch.useLinearInTransformer
    ? toSpatial(await linear(g, t, `${key}.proj_out`, ch, ch, true, rows))
    : await conv(g, toSpatial(t), `${key}.proj_out`, ch, ch, 1);
  return g.op('Add', [out, x]);
}

export interface DownPath {
  /** Outputs of input_blocks.0 … input_blocks.N (the skips), with their channel counts. */
  skips: string[];
  skipChannels: number[];
  /** Middle block output and its channels. */
  mid: string;
  channels: number;
}

/** input_blocks.0 … input_blocks.(count − 1) (all by default): the skips, and the last one's channels. */
async function inputBlocks(c: UnetContext, sample: string, hint?: string, count = Number.POSITIVE_INFINITY): Promise<Omit<DownPath, 'mid'>> {
  const { g, arch, p } = c;
  const mc = arch.modelChannels;
  let h = await conv(g, sample, `${p}input_blocks.0.0`, arch.inChannels, mc, 3);
  if (hint) h = g.op('Add', [h, hint]);
  const skips = [h];
  const skipChannels = [mc];
  let ch = mc;
  let ds = 1;
  let idx = 1;
  for (let level = 0; level < arch.channelMult.length; level++) {
    for (let r = 0; r < arch.numResBlocks; r++) {
      if (skips.length >= count) return { skips, skipChannels, channels: ch };
      const key = `${p}input_blocks.${idx++}`;
      h = await resBlock(c, h, `${key}.0`, ch, mc * arch.channelMult[level]);
      ch = mc * arch.channelMult[level];
      if (arch.attentionResolutions.includes(ds)) h = await spatialTransformer(c, h, `${key}.1`, ch, arch.transformerDepth[level], ds);
      skips.push(h);
      skipChannels.push(ch);
    }
    if (level !== arch.channelMult.length - 1) {
      if (skips.length >= count) return { skips, skipChannels, channels: ch };
      h = await conv(g, h, `${p}input_blocks.${idx++}.0.op`, ch, ch, 3, { stride: 2 });
      skips.push(h);
      skipChannels.push(ch);
      ds *= 2;
    }
  }
  return { skips, skipChannels, channels: ch };
}

/**
 * input_blocks + middle_block. `hint` (ControlNet) is added to the output of input_blocks.0.
 */
export async function downPath(c: UnetContext, sample: string, hint?: string): Promise<DownPath> {
  const { g, arch, p } = c;
  const { skips, skipChannels, channels: ch } = await inputBlocks(c, sample, hint);
  let h = skips[skips.length - 1];
  h = await resBlock(c, h, `${p}middle_block.0`, ch, ch);
  h = await spatialTransformer(c, h, `${p}middle_block.1`, ch, arch.transformerDepthMiddle, 2 ** (arch.channelMult.length - 1));
  h = await resBlock(c, h, `${p}middle_block.2`, ch, ch);
  return { skips, skipChannels, mid: h, channels: ch };
}

export interface UpPathOptions {
  /** Start at this output block with `down.mid` as what enters it (DeepCache's shallow call); default 0. */
  from?: number;
  /** Sees the hidden state entering each output block, before its skip is concatenated. */
  enter?(block: number, h: string): void;
}

/** output_blocks + out: consumes `down.skips` (in reverse) and returns the noise prediction. */
export async function upPath(c: UnetContext, down: DownPath, opts: UpPathOptions = {}): Promise<string> {
  const { g, arch, p } = c;
  const mc = arch.modelChannels;
  const skips = [...down.skips];
  const skipChannels = [...down.skipChannels];
  const from = opts.from ?? 0;
  let h = down.mid;
  let ch = down.channels;
  let ds = 2 ** (arch.channelMult.length - 1);
  let idx = 0;
  for (let level = arch.channelMult.length - 1; level >= 0; level--) {
    for (let r = 0; r <= arch.numResBlocks; r++) {
      const block = idx++;
      const key = `${p}output_blocks.${block}`;
      if (block < from) {
        // Skipped: only the channel count and resolution move on; its skip is not in a shallow call's list.
        ch = mc * arch.channelMult[level];
        if (level > 0 && r === arch.numResBlocks) ds /= 2;
        continue;
      }
      opts.enter?.(block, h);
      const skipCh = skipChannels.pop()!;
      h = g.op('Concat', [h, skips.pop()!], { axis: 1 });
      h = await resBlock(c, h, `${key}.0`, ch + skipCh, mc * arch.channelMult[level]);
      ch = mc * arch.channelMult[level];
      let layer = 1;
      if (arch.attentionResolutions.includes(ds)) h = await spatialTransformer(c, h, `${key}.${layer++}`, ch, arch.transformerDepth[level], ds);
      if (level > 0 && r === arch.numResBlocks) {
        // Nearest upsampling to the next skip's exact size (diffusers' upsample_size), so latent sizes
        // that are not multiples of 8 line up.
        const next = skips[skips.length - 1];
        const size = g.op('Concat', [
          g.op('Slice', [g.op('Shape', [h]), g.ints([0]), g.ints([2])]),
          g.op('Slice', [g.op('Shape', [next]), g.ints([2]), g.ints([4])]),
        ], { axis: 0 });
        const up = g.op('Resize', [h, '', '', size], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
        h = await conv(g, up, `${key}.${layer}.conv`, ch, ch, 3);
        ds /= 2;
      }
    }
  }
  h = silu(g, await groupNorm(g, h, `${p}out.0`, ch, RES_EPS, PARALLEL_NORM));
  return conv(g, h, `${p}out.2`, ch, arch.outChannels, 3);
}

export function residualName(i: number): string {
  return `down_block_${i}_additional_residual`;
}
export const MID_RESIDUAL = 'mid_block_additional_residual';

/** DeepCache's cache branches: one per skip connection (SD1.5: 12), b = 0 the outermost. */
export function deepCacheBranches(arch: UnetArch): number {
  const levels = arch.channelMult.length;
  return 1 + levels * arch.numResBlocks + (levels - 1);
}

/** The output of a UNet built with DeepCache features that gives branch b's cached tensor. */
export function deepCacheFeatureName(branch: number): string {
  return `deepcache_feature_${branch}`;
}
export const DEEPCACHE_FEATURE_INPUT = 'deepcache_feature';

const FEATURE_DIMS = ['batch', 'feature_channels', 'feature_height', 'feature_width'];

function checkBranch(arch: UnetArch, branch: number): void {
  const n = deepCacheBranches(arch);
  if (!(Number.isInteger(branch) && branch >= 0 && branch < n)) throw new Error(`DeepCache branch must be an integer 0-${n - 1}, got ${branch}`);
}

/**
 * DeepCache's shallow UNet for cache branch b (tests/golden/deepcache/README.md): conv_in and the input
 * blocks before skip b, then the output blocks from the one that consumes skip b, entered by the tensor a
 * full call cached there (input `deepcache_feature`); the middle block and everything deeper never run.
 */
export async function buildUnetShallow(g: Graph, arch: UnetArch, attention: AttentionOptions, branch: number): Promise<void> {
  checkBranch(arch, branch);
  const { ctx, sample } = await unetInputs(g, arch, UNET_PREFIX, attention);
  const down = await inputBlocks(ctx, sample, undefined, branch + 1);
  const feature = g.floatInput(DEEPCACHE_FEATURE_INPUT, FEATURE_DIMS);
  const from = deepCacheBranches(arch) - 1 - branch;
  g.output('out_sample', await upPath(ctx, { ...down, mid: feature }, { from }), ['batch', arch.outChannels, 'height', 'width']);
}

export async function buildUnet(g: Graph, arch: UnetArch, attention: AttentionOptions, controlResiduals: boolean, deepCacheFeatures = false): Promise<void> {
  const { ctx, sample } = await unetInputs(g, arch, UNET_PREFIX, attention);
  const down = await downPath(ctx, sample);
  if (controlResiduals) {
    // diffusers adds ControlNet residuals to every skip and to the middle block output.
    down.skips = down.skips.map((s, i) =>
      g.op('Add', [s, g.floatInput(residualName(i), ['batch', down.skipChannels[i], `residual_${i}_height`, `residual_${i}_width`])]),
    );
    down.mid = g.op('Add', [down.mid, g.floatInput(MID_RESIDUAL, ['batch', down.channels, 'mid_height', 'mid_width'])]);
  }
  // What enters output block o is what DeepCache's branch (branches − 1 − o) caches; fetched only by full DeepCache calls.
  const last = deepCacheBranches(arch) - 1;
  const enter = deepCacheFeatures ? (block: number, h: string) => g.output(deepCacheFeatureName(last - block), h, FEATURE_DIMS) : undefined;
  g.output('out_sample', await upPath(ctx, down, enter ? { enter } : {}), ['batch', arch.outChannels, 'height', 'width']);
}
