// The contract between the checkpoint reader (bridge/src/models, core/src/models/safetensors.ts) and the
// ONNX graph builders (core/src/models/build.ts). Weights flow one tensor at a time from a TensorSource
// through the builder into a WeightSink, so building never holds a whole model twice.
import type { SdArchitecture } from './arch.js';

/** A checkpoint's tensors by original (LDM/cldm) key; `read` converts any stored float dtype to float32. */
export interface TensorSource {
  keys(): string[];
  /** Shape of a key returned by `keys()`; throws for an unknown key. */
  shape(key: string): number[];
  read(key: string): Promise<Float32Array>;
}

/**
 * Where large models put their weights: an external data file next to the .onnx (ONNX "external data").
 * `location` is the file name the model records, relative to the .onnx file's folder.
 */
export interface WeightSink {
  readonly location: string;
  /** Appends bytes, returning where they landed in the external file. */
  write(bytes: Uint8Array): Promise<{ offset: number; length: number }>;
}

export type Component = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae_encoder' | 'vae_decoder' | 'controlnet';

export interface BuildOptions {
  /** fp16 stores weights and computes in float16 (for GPU EPs); graph inputs/outputs stay float32 either way. */
  precision: 'fp32' | 'fp16';
  /**
   * Text encoders only: AUTOMATIC1111 "Clip skip" N (1 = last layer, 2 = penultimate layer + final norm); for a
   * family whose encoders give the penultimate layer (SDXL), N − 1 more layers are skipped (diffusers' clip_skip).
   */
  clipSkip?: number;
  /** No sink: weights are embedded in the returned ModelProto (fine for small models, < 2 GB). */
  externalData?: WeightSink;
  /**
   * UNet and text encoder: a low-rank input pair beside every weight an adapter may change
   * (core/src/adapters/slots.ts), and in the text encoder rows for added tokens (textual inversion), so
   * LoRAs and embeddings switch per run without rebuilding the graph.
   */
  adapterSlots?: boolean;
  /**
   * UNet only: add ControlNet residual inputs `down_block_{0..11}_additional_residual` and
   * `mid_block_additional_residual`, summed into the skips and mid-block output as diffusers does.
   */
  controlResiduals?: boolean;
  /**
   * UNet only: also output, for every DeepCache cache branch b, the hidden state a shallow call of that
   * branch starts from (`deepcache_feature_{b}`); a run fetches one only when it caches it.
   */
  deepCacheFeatures?: boolean;
  /** UNet only: build DeepCache's shallow UNet for this cache branch instead (core/src/models/unet.ts). */
  deepCacheShallow?: number;
  /**
   * UNet/ControlNet self-attention memory bound: 0 computes all heads in one batched MatMul (one
   * [B·heads, N, N] score matrix); n ≥ 1 computes head by head, each head's query rows in n chunks, so
   * only a [B, N/n, N] score matrix is alive at a time. Default: see DEFAULT_ATTENTION_CHUNKS in build.ts.
   */
  attentionChunks?: number;
  /**
   * UNet/ControlNet attention as ONNX Runtime's com.microsoft MultiHeadAttention contrib op (CPU flash
   * attention, fused CUDA kernels) instead of standard MatMul/Softmax ops; attentionChunks then does not
   * apply. Only for runtimes that have the op (onnxruntime CPU/CUDA); default false.
   */
  fusedAttention?: boolean;
  /** For ONNX Runtime's WebGPU provider: route around its measured bugs (core/src/models/onnx/webgpu.ts). */
  webgpu?: boolean;
}

export type BuildComponent = (
  component: Component,
  source: TensorSource,
  arch: SdArchitecture,
  options: BuildOptions,
) => Promise<Uint8Array>;
