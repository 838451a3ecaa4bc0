// ONNX Runtime sessions on the best execution provider the machine has. A GPU provider that is missing
// (CUDA libraries not installed, DirectML off Windows...) or fails on a model is never fatal: Kirie logs
// why and runs on the CPU.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, availableParallelism, platform } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from '@kirie/core/models/onnx/graph';
import { softwareOnlyWebGpu } from './webgpu.js';

export const DEVICES = ['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;
export type Device = (typeof DEVICES)[number];
export type Provider = Exclude<Device, 'auto'>;

export interface RuntimeOptions {
  device: Device;
  /** Where fallback reasons go (the CLI prints them, the server logs them). */
  log?: (message: string) => void;
  /** Intra-op threads; default: every core. */
  threads?: number;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: Provider;
}

export function parseDevice(value: string): Device {
  if ((DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new Error(`unknown device ${JSON.stringify(value)}; expected one of ${DEVICES.join(', ')}`);
}

/** GPU providers worth trying for `auto`, best first, on this OS; WebGPU (D3D12, Metal, Vulkan) is the last before the CPU. */
export function autoProviders(os: NodeJS.Platform = platform()): Provider[] {
  if (os === 'win32') return ['cuda', 'dml', 'webgpu'];
  if (os === 'darwin') return ['coreml', 'webgpu'];
  return ['cuda', 'webgpu'];
}

// A provider that failed once fails again: don't retry (and re-log) it for every component.
const failed = new Map<Provider, string>();

// Reasons already logged, so each is said once per process.
const reported = new Set<string>();

/**
 * Why `auto` passes over a provider that may well run, or null: WebGPU on a machine whose only adapter is a
 * software one. Asked for by name (tests, CI), WebGPU runs on whatever adapter Dawn finds.
 */
function passedOverByAuto(provider: Provider, device: Device): string | null {
  return device === 'auto' && provider === 'webgpu' ? softwareOnlyWebGpu() : null;
}

/** Why this onnxruntime-node install cannot offer `provider`, or null when it may. */
function unavailable(provider: Provider): string | null {
  if (provider === 'cpu') return null;
  const backends = ort.listSupportedBackends();
  const backend = backends.find((b) => b.name === provider);
  if (!backend) return `this onnxruntime-node build for ${platform()} has no ${provider} provider (it has ${backends.map((b) => b.name).join(', ')})`;
  // Not-bundled providers are downloaded at install time, unless skipped (this repo's .npmrc skips CUDA):
  // checking for the library avoids ORT's own multi-line load error for the common case.
  if (!backend.bundled && provider === 'cuda' && !existsSync(cudaLibrary())) {
    return `the CUDA provider library ${basename(cudaLibrary())} is not installed (reinstall onnxruntime-node with --onnxruntime-node-install=cuda12)`;
  }
  return null;
}

function cudaLibrary(): string {
  const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
  const file = platform() === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return join(dist, '..', 'bin', 'napi-v6', platform(), arch(), file);
}

export function sessionOptions(provider: Provider, threads: number): ort.InferenceSession.SessionOptions {
  const gpu = provider !== 'cpu';
  // ORT turns memory patterns off itself for DirectML and WebGPU (and logs it); saying so keeps the log quiet.
  const memPattern = provider !== 'dml' && provider !== 'webgpu';
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // No CPU arena: each session's arena keeps its own high-water mark, so the UNet's and the VAE decoder's
    // activation peaks (~0.7 GB and ~1 GB at 512x512) would add up for as long as the model is resident.
    // Measured on a full-size fp32 txt2img at 512x512: peak RSS 5.86 GB with arenas, 5.14 GB without; the
    // large activation buffers are mmap-sized, so malloc hands them back between runs. DirectML requires
    // memory patterns off; on the CPU they pay off because every step has the same shapes.
    enableCpuMemArena: false,
    enableMemPattern: memPattern,
    // Weights (GBs) outside the arena, so the arena only grows by activations. Intra-op threads sleep
    // between ops instead of spinning: the bridge shares the machine with Photoshop or Figma, and with as
    // many threads as cores a spinning thread takes the core another thread's kernel needs. Full-size 512²
    // UNet call, 2 threads on 2 cores, quiet machine (bench unet): 6.34 s spinning (1.79x one thread,
    // 12.6 s of CPU) vs 6.14 s sleeping (1.85x, 11.9 s of CPU).
    extra: { session: { use_device_allocator_for_initializers: '1', intra_op: { allow_spinning: '0' } } },
    logSeverityLevel: gpu ? 4 : 3,
  };
}

/** The provider `createSession` will try first for `device`, from what is installed (no session made). */
export function preferredProvider(device: Device): Provider {
  const wanted: Provider[] = device === 'auto' ? autoProviders() : [device];
  return wanted.find((p) => p === 'cpu' || !(passedOverByAuto(p, device) ?? failed.get(p) ?? unavailable(p))) ?? 'cpu';
}

/**
 * The provider sessions will really get: creates a one-node session, so a provider whose library loads but
 * has no usable device (CUDA installed, no GPU) is found out before graphs are built for it.
 */
export async function resolveProvider(device: Device, log?: (message: string) => void): Promise<Provider> {
  const { session, provider } = await createSession(probeModel(), { device, log, threads: 1 });
  await session.release();
  return provider;
}

function probeModel(): Uint8Array {
  const value = { name: 'x', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } } };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'probe', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [value], output: [{ ...value, name: 'y' }] },
    }),
  ).finish();
}

/**
 * Creates a session on `device`, falling back to the CPU (with a logged reason, once per provider and process)
 * when the provider is missing or cannot run a model; a provider that failed is not tried again.
 * `model` is a path (external data next to it) or the model's bytes.
 */
export async function createSession(model: string | Uint8Array, opts: RuntimeOptions): Promise<CreatedSession> {
  const threads = opts.threads ?? availableParallelism();
  const log = opts.log ?? (() => {});
  const wanted: Provider[] = opts.device === 'auto' ? autoProviders() : [opts.device];
  const candidates: Provider[] = [...wanted.filter((p) => p !== 'cpu'), 'cpu'];
  for (const [i, provider] of candidates.entries()) {
    if (provider === 'cpu') break;
    const passedOver = passedOverByAuto(provider, opts.device);
    let reason = passedOver ?? failed.get(provider) ?? unavailable(provider);
    if (!reason) {
      try {
        return { session: await create(model, sessionOptions(provider, threads)), provider };
      } catch (err) {
        reason = firstLine(err);
      }
    }
    if (!passedOver && !failed.has(provider)) failed.set(provider, reason);
    if (!reported.has(`${provider}: ${reason}`)) {
      reported.add(`${provider}: ${reason}`);
      log(`${provider} ${passedOver ? 'passed over' : 'unavailable'}, falling back to ${candidates[i + 1] === 'cpu' ? 'the CPU' : candidates[i + 1]}: ${reason}`);
    }
  }
  return { session: await create(model, sessionOptions('cpu', threads)), provider: 'cpu' };
}

function create(model: string | Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].trim();
}

/** Forgets remembered provider failures (tests; a driver installed while the bridge runs). */
export function resetProviderFailures(): void {
  failed.clear();
  reported.clear();
}
