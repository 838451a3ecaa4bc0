// `kirie models random`: a checkpoint with the real key names and shapes and seeded random weights, written
// straight to disk tensor by tensor (a full-size SD1.5 file is 4.3 GB in float32, SDXL 6.9 GB in float16). Used for benchmarks and
// for the bundled demo model: no real weights may be shipped or downloaded.
//
// Weights follow PyTorch's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (std 1/sqrt(3·fan_in)), norms
// weight 1 / bias 0, biases 0, so even full-size random graphs give finite, well-scaled outputs.
import { copyFile, open, readFile, rename, rm } from 'node:fs/promises';
import { float32ToHalf, serializeSafetensorsHeader, type SafetensorsDtype, type SafetensorsLayoutEntry } from '@kirie/core/models/safetensors';
import { assetPath } from './assets.js';
import { sidecarPath } from './checkpoint.js';

export type RandomArch = 'sd15' | 'tiny' | 'sdxl';
export type RandomKind = 'sd15' | 'sd15_inpainting' | 'controlnet' | 'sdxl' | 'sdxl_inpainting';

/** Each arch's key listing in bridge/assets, by kind. */
const KEY_FILES: Record<RandomArch, string> = { sd15: 'sd15-keys.json', tiny: 'tiny-keys.json', sdxl: 'sdxl-keys.json' };

export interface RandomOptions {
  arch: RandomArch;
  kind: RandomKind;
  seed: number;
  out: string;
  fp16?: boolean;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

type KeyList = [name: string, shape: number[], dtype: SafetensorsDtype][];

async function keyList(arch: RandomArch, kind: RandomKind): Promise<KeyList> {
  const json = JSON.parse(await readFile(assetPath(KEY_FILES[arch]), 'utf8')) as Record<string, KeyList>;
  const list = json[kind];
  if (!Array.isArray(list)) throw new Error(`--arch ${arch} has no ${kind.replace('_', ' ')} model`);
  return list;
}

/** The sidecar YAML the tiny models need (SD1.5 sizes need none). */
export function tinySidecar(kind: RandomKind): string {
  return assetPath(kind === 'sd15' ? 'tiny-sd15.yaml' : kind === 'sd15_inpainting' ? 'tiny-sd15-inpainting.yaml' : 'tiny-controlnet.yaml');
}

/** FNV-1a of the tensor name mixed with the seed: each tensor has its own stream, independent of order. */
function streamSeed(seed: number, name: string): Uint32Array {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  // splitmix32 spreads the hash over xoshiro's 128-bit state (which must not be all zero).
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    h = (h + 0x9e3779b9) | 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    state[i] = (z ^ (z >>> 16)) >>> 0 || 1;
  }
  return state;
}

/**
 * U(-bound, bound) with xoshiro128+: a few ns per value. (core's Mt19937 reproduces torch's stream but
 * costs ~30 ns per value, half a minute for SD1.5's 1.07e9 weights; torch parity is not needed here.)
 */
function fillUniform(out: Float32Array, state: Uint32Array, bound: number): void {
  let a = state[0], b = state[1], c = state[2], d = state[3];
  const scale = (2 * bound) / 4294967296;
  for (let i = 0; i < out.length; i++) {
    const r = (a + d) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    out[i] = r * scale - bound;
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
  state[3] = d;
}

/** The init rule for one tensor: 0, 1, or a uniform bound. */
export function initFor(name: string, shape: readonly number[]): { constant: number } | { bound: number } {
  if (name.endsWith('.bias')) return { constant: 0 };
  if (shape.length === 1) return { constant: 1 }; // GroupNorm/LayerNorm scales
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return { bound: 1 / Math.sqrt(fanIn) };
}

const CHUNK = 1 << 20;

/** Writes the checkpoint (via a temp file, renamed when complete) and, for tiny models, its sidecar YAML. */
export async function writeRandomCheckpoint(opts: RandomOptions): Promise<{ path: string; bytes: number; sidecar?: string }> {
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) throw new Error(`--seed must be a non-negative integer, got ${opts.seed}`);
  const keys = await keyList(opts.arch, opts.kind);
  const layout: SafetensorsLayoutEntry[] = keys.map(([name, shape, dtype]) => ({ name, shape, dtype: dtype === 'F32' && opts.fp16 ? 'F16' : dtype }));
  const { prefix, fileSize } = serializeSafetensorsHeader(layout, { format: 'pt', kirie: `random ${opts.arch} ${opts.kind} seed ${opts.seed}` });
  const tmp = `${opts.out}.tmp-${process.pid}`;
  const handle = await open(tmp, 'w');
  try {
    let position = 0;
    const write = async (bytes: Uint8Array) => {
      let done = 0;
      while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
      position += bytes.length;
      opts.onProgress?.(position, fileSize);
    };
    await write(prefix);
    const values = new Float32Array(CHUNK);
    for (const entry of layout) {
      const count = entry.shape.reduce((a, b) => a * b, 1);
      if (entry.dtype === 'I64') {
        // position_ids: 0..n-1 along the last axis.
        const last = entry.shape[entry.shape.length - 1];
        await write(new Uint8Array(BigInt64Array.from({ length: count }, (_, i) => BigInt(i % last)).buffer));
        continue;
      }
      const init = initFor(entry.name, entry.shape);
      const state = streamSeed(opts.seed, entry.name);
      for (let at = 0; at < count; at += CHUNK) {
        const chunk = values.subarray(0, Math.min(CHUNK, count - at));
        if ('constant' in init) chunk.fill(init.constant);
        else fillUniform(chunk, state, init.bound);
        const out = entry.dtype === 'F16' ? float32ToHalf(chunk) : chunk;
        await write(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      }
    }
    if (position !== fileSize) throw new Error(`internal: wrote ${position} bytes, header promises ${fileSize}`);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(tmp, opts.out);
  let sidecar: string | undefined;
  if (opts.arch === 'tiny') {
    sidecar = sidecarPath(opts.out);
    await copyFile(tinySidecar(opts.kind), sidecar);
  }
  return { path: opts.out, bytes: fileSize, sidecar };
}
