// Layer building blocks shared by the component graphs, written as the plain ONNX patterns torch
// exports (Reshape→InstanceNormalization→Reshape for GroupNorm, MatMul/Softmax/MatMul attention,
// x·sigmoid(x), erf GELU) so ONNX Runtime's graph optimisers recognise and fuse them.
import { FLOAT, type Graph } from './graph.js';
import { needsChannelPadding, normalizeLastAxis, padChannelsToMultipleOf4 } from './webgpu.js';

export async function conv(
  g: Graph,
  x: string,
  key: string,
  cin: number,
  cout: number,
  k: number,
  opts: { stride?: number; pads?: number[] } = {},
): Promise<string> {
  const widen = g.forWebGpu && needsChannelPadding(cin, k) ? (t: string) => padChannelsToMultipleOf4(g, t, cin) : (t: string) => t;
  const w = widen(await g.weight(`${key}.weight`, [cout, cin, k, k]));
  const b = await g.weight(`${key}.bias`, [cout]);
  const p = (k - 1) / 2;
  const geometry = { kernel_shape: [k, k], strides: [opts.stride ?? 1, opts.stride ?? 1], pads: opts.pads ?? [p, p, p, p] };
  x = widen(x);
  const y = g.op('Conv', [x, w, b], geometry);
  // Adapter branch: ΔW·x = up ⊛ (down ⊛ x), down [r, cin, k, k] with the layer's geometry, up [cout, r, 1, 1].
  // A branch, not a merged weight as in linear(): a Conv whose weight is not a constant loses ONNX Runtime's
  // NCHWc kernels on the CPU, which would slow every convolution even with no LoRA active.
  const slot = g.adapterSlot(key, (r) => [r, cin, k, k], (r) => [cout, r, 1, 1]);
  if (!slot) return y;
  const low = g.op('Conv', [x, widen(slot.down)], geometry);
  return g.op('Add', [y, g.op('Conv', [low, slot.up], { kernel_shape: [1, 1] })]);
}

/**
 * torch.nn.Linear over the last axis: x·Wᵀ (+ b). `rows`, the rows of x (batch × tokens) the layer multiplies
 * at the model's native size when the caller knows them, picks the cheaper form of an adapter slot.
 */
export async function linear(g: Graph, x: string, key: string, cin: number, cout: number, bias = true, rows?: number): Promise<string> {
  let w = await g.weight(`${key}.weight`, [cout, cin], { transpose: true });
  // Adapter slot, down [r, cin] and up [cout, r] fed as LoRA files store them (core/src/adapters/slots.ts).
  // Merged (mergedLowRank), a new [cin, cout] weight is written on every run whatever the rank, so it suits
  // layers that multiply many rows. A side branch x·W + (x·downᵀ)·upᵀ instead costs passes over the
  // [rows, cout] output: cheaper when rows·(cin + cout) < cin·cout (the time embedding, the UNet's deep
  // levels, cross-attention's keys and values), and W stays a constant. `npm run bench -- unet` times it.
  const slot = g.adapterSlot(key, (r) => [r, cin], (r) => [cout, r]);
  let y: string;
  if (slot && rows !== undefined && rows * (cin + cout) < cin * cout) {
    const low = g.op('MatMul', [x, g.op('Transpose', [slot.down], { perm: [1, 0] })]);
    y = g.op('Add', [g.op('MatMul', [x, w]), g.op('MatMul', [low, g.op('Transpose', [slot.up], { perm: [1, 0] })])]);
  } else {
    if (slot) w = mergedLowRank(g, w, slot);
    y = g.op('MatMul', [x, w]);
  }
  return bias ? g.op('Add', [y, await g.weight(`${key}.bias`, [cout])]) : y;
}

/**
 * Wᵀ + downᵀ·upᵀ for a MatMul weight stored [in, out] and an adapter slot's down [r, in], up [out, r], shaped
 * [1, in, out] for a MatMul over [batch, tokens, in]. The leading 1 (folded into the constant at load) keeps
 * ONNX Runtime from fusing the sum into a Gemm, whose copy of W into its output runs on one thread: as an Add
 * it is split across the intra-op pool (profiled, a full-size 256x256 UNet call spent 29 % of its time in those Gemms).
 */
export function mergedLowRank(g: Graph, w: string, slot: { down: string; up: string }): string {
  const delta = g.op('MatMul', [g.op('Transpose', [slot.down], { perm: [1, 0] }), g.op('Transpose', [slot.up], { perm: [1, 0] })]);
  return g.op('Add', [g.op('Unsqueeze', [w, g.ints([0])]), delta]);
}

export function silu(g: Graph, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])]);
}

/** Exact (erf) GELU, as torch.nn.functional.gelu. */
export function gelu(g: Graph, x: string): string {
  const e = g.op('Erf', [g.op('Div', [x, g.scalar(Math.SQRT2)])]);
  return g.op('Mul', [g.op('Mul', [x, g.op('Add', [e, g.scalar(1)])]), g.scalar(0.5)]);
}

/**
 * GroupNorm over NCHW (or N,C,…) with the affine weights of `key`. `parallel`: in float32 graphs, spell out
 * InstanceNormalization's own arithmetic in plain ops (instanceNormInPlainOps), which ONNX Runtime's CPU provider
 * splits across its intra-op threads where its InstanceNormalization kernel runs on one. It holds two more
 * activation-sized temporaries, so the UNet (small activations, many norms) asks for it and the VAE does not.
 */
export async function groupNorm(g: Graph, x: string, key: string, channels: number, eps: number, opts: { groups?: number; parallel?: boolean } = {}): Promise<string> {
  const groups = opts.groups ?? 32;
  if (channels % groups !== 0) throw new Error(`${key}: ${channels} channels do not split into ${groups} groups`);
  const grouped = g.op('Reshape', [x, g.ints([0, groups, -1])]);
  const normed = g.forWebGpu
    ? normalizeLastAxis(g, grouped, eps)
    : opts.parallel && g.dtype === FLOAT
      ? instanceNormInPlainOps(g, grouped, eps)
      : g.op('InstanceNormalization', [grouped, g.constant(new Array(groups).fill(1), [groups]), g.constant(new Array(groups).fill(0), [groups])], { epsilon: eps });
  const back = g.op('Reshape', [normed, g.op('Shape', [x])]);
  const w = await g.weight(`${key}.weight`, [channels], { dims: [channels, 1, 1] });
  const b = await g.weight(`${key}.bias`, [channels], { dims: [channels, 1, 1] });
  return g.op('Add', [g.op('Mul', [back, w]), b]);
}

/**
 * Unit-weight InstanceNormalization over the last axis, in the order ONNX Runtime's CPU kernel computes it
 * (onnxruntime/core/providers/cpu/nn/instance_norm.cc): mean; sum of squared deviations / n; s = 1/sqrt(v+eps);
 * y = x·s + (−mean·s). For rows of a multiple of 4 values ReduceMean sums them as that kernel's Eigen mean does,
 * so the result is the same bit for bit (bridge/test/components/group-norm.test.ts): every row of SD1.5 and SDXL
 * at latents of even area, and of the tiny golden models. Other rows end in a few values added in another
 * order: an ulp or so apart. (x − mean) / sqrt(v + eps), the textbook form, is not the same.
 */
export function instanceNormInPlainOps(g: Graph, x: string, eps: number): string {
  const mean = g.op('ReduceMean', [x], { axes: [-1] });
  const centered = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centered, centered])], { axes: [-1] });
  const scale = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.scalar(eps)])])]);
  return g.op('Add', [g.op('Mul', [x, scale]), g.op('Neg', [g.op('Mul', [mean, scale])])]);
}

export async function layerNorm(g: Graph, x: string, key: string, channels: number, eps: number): Promise<string> {
  const w = await g.weight(`${key}.weight`, [channels]);
  const b = await g.weight(`${key}.bias`, [channels]);
  if (g.forWebGpu) return g.op('Add', [g.op('Mul', [normalizeLastAxis(g, x, eps), w]), b]);
  return g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: eps });
}

/** [B, N, heads·d] -> [B, heads, N, d] */
export function splitHeads(g: Graph, x: string, heads: number, headDim: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
}

/** [B, heads, N, d] -> [B, N, heads·d] */
export function mergeHeads(g: Graph, x: string, channels: number): string {
  return g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), g.ints([0, 0, channels])]);
}

/** softmax(q·kᵀ + mask)·v for q [.., N, d] (already scaled), kT [.., d, M], v [.., M, d]. */
function attend(g: Graph, q: string, kT: string, v: string, mask?: string): string {
  let s = g.op('MatMul', [q, kT]);
  if (mask) s = g.op('Add', [s, mask]);
  return g.op('MatMul', [g.op('Softmax', [s], { axis: -1 }), v]);
}

/**
 * Multi-head attention on [B, heads, N, d] q and v, kT [B, heads, d, M]. With chunks ≥ 1 the scores are
 * computed head by head and, within a head, `chunks` slices of query rows (row bounds computed from the
 * dynamic N), so only a [B, N/chunks, M] score matrix is alive at once.
 */
export function multiHeadAttention(
  g: Graph,
  q: string,
  kT: string,
  v: string,
  heads: number,
  scale: number,
  opts: { mask?: string; chunks?: number } = {},
): string {
  const chunks = opts.chunks ?? 0;
  if (opts.mask && chunks > 1) throw new Error('a mask cannot be combined with query-row chunks');
  // Scaling q (N·d values) instead of the scores (N·M) saves a full pass over the largest tensor.
  q = g.op('Mul', [q, g.scalar(scale)]);
  if (chunks === 0) return attend(g, q, kT, v, opts.mask);
  const ones = g.ints(new Array(heads).fill(1));
  const qs = g.opN('Split', [q, ones], { axis: 1 }, heads);
  const ks = g.opN('Split', [kT, ones], { axis: 1 }, heads);
  const vs = g.opN('Split', [v, ones], { axis: 1 }, heads);
  let bounds: string[] = [];
  if (chunks > 1) {
    const n = g.op('Gather', [g.op('Shape', [q]), g.ints([2])], { axis: 0 });
    bounds = Array.from({ length: chunks + 1 }, (_, i) =>
      i === 0 ? g.ints([0]) : g.op('Div', [g.op('Mul', [n, g.ints([i])]), g.ints([chunks])]),
    );
  }
  const perHead = qs.map((qh, h) => {
    if (chunks === 1) return attend(g, qh, ks[h], vs[h], opts.mask);
    const parts = bounds.slice(0, -1).map((start, i) => {
      const rows = g.op('Slice', [qh, start, bounds[i + 1], g.ints([2])]);
      return attend(g, rows, ks[h], vs[h], opts.mask);
    });
    return g.op('Concat', parts, { axis: 2 });
  });
  return g.op('Concat', perHead, { axis: 1 });
}
