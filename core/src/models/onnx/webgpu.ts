// Graphs for ONNX Runtime's WebGPU execution provider: ways around what the provider computes wrong,
// applied only to graphs built for it (BuildOptions.webgpu), so CPU graphs and their speed are untouched.
// Each workaround has a minimal reproduction of the provider bug in tests/webgpu/provider-bugs.test.ts.
import type { Graph } from './graph.js';

/**
 * onnxruntime-node 1.30's WebGPU Conv gives wrong results (max |diff| 7–25 for O(1) outputs) for a k×k kernel
 * (k > 1) whose input has 6, 9, 15, 18 or 21 channels: measured for every width 1–24 with 4–320 output
 * channels, strides 1 and 2; widths that are multiples of 4 (and 1–5, 7, 10, …) are right. An inpainting
 * UNet's 9-channel conv_in is one. Zero channels added to input and weight leave the result unchanged, so
 * every k > 1 input wider than 4 is padded to a multiple of 4, which covers each failing width measured.
 */
export function needsChannelPadding(inChannels: number, kernel: number): boolean {
  return kernel > 1 && inChannels > 4 && inChannels % 4 !== 0;
}

/** Appends zero channels to axis 1 (an NCHW activation or an [out, in, k, k] weight) up to a multiple of 4. */
export function padChannelsToMultipleOf4(g: Graph, tensor: string, inChannels: number): string {
  const extra = (4 - (inChannels % 4)) % 4;
  return g.op('Pad', [tensor, g.ints([0, 0, 0, 0, 0, extra, 0, 0])], { mode: 'constant' });
}

/**
 * (x − mean) / √(mean((x − mean)²) + eps) over the last axis, in plain ops. onnxruntime-node 1.30's WebGPU
 * InstanceNormalization and LayerNormalization lose the variance when |mean| ≫ std (one-pass E[x²] − E[x]²):
 * for groups of 2 values 10 ± 0.01 InstanceNormalization gives NaN and LayerNormalization is 0.71 off, for 64
 * values 10 ± 0.1 both are ~7e-3 off; this two-pass form is as exact on WebGPU as on the CPU (2e-4, 4e-5). In
 * the tiny UNet the 2-value groups of the 1×1 mid block made the 6e-3 output error that DDIM grew to 0.6.
 */
export function normalizeLastAxis(g: Graph, x: string, eps: number): string {
  const centered = g.op('Sub', [x, g.op('ReduceMean', [x], { axes: [-1] })]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centered, centered])], { axes: [-1] });
  return g.op('Div', [centered, g.op('Sqrt', [g.op('Add', [variance, g.scalar(eps)])])]);
}

/**
 * Whether attention is built as com.microsoft MultiHeadAttention. onnxruntime-node 1.30's WebGPU version is
 * 1.2–1.4e-2 off for 64 query rows (8 heads of 8, O(1) values; exact for 16 rows), which DDIM grew to 0.66 in
 * the tiny pipelines' latents: graphs for WebGPU attend with MatMul/Softmax, which it computes exactly.
 */
export function fusedAttention(options: { fusedAttention?: boolean; webgpu?: boolean }): boolean {
  return (options.fusedAttention ?? false) && !options.webgpu;
}
