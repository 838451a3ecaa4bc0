// A TensorSource whose tensors are made on read from a shape listing: random full-size checkpoints for
// benchmarks and key-mapping tests, without a multi-GB file or all weights in memory at once.
import type { TensorSource, WeightSink } from './types.js';

export type Fill = (key: string, shape: readonly number[]) => Float32Array;

export const zeros: Fill = (_, shape) => new Float32Array(shape.reduce((a, b) => a * b, 1));

/**
 * Seeded values scaled like PyTorch's default init, so activations stay finite through a full-size
 * model: norm scales 1, other vectors small, matrices/convs uniform(±1/√fan_in). Seed = key hash.
 */
export const seededInit: Fill = (key, shape) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (shape.length === 1 && /norm[^.]*\.weight$|in_layers\.0\.weight$|out_layers\.0\.weight$|\bout\.0\.weight$/.test(key)) return out.fill(1);
  let s = 2166136261;
  for (let i = 0; i < key.length; i++) s = Math.imul(s ^ key.charCodeAt(i), 16777619);
  const scale = shape.length === 1 ? 0.02 : 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < n; i++) {
    // xorshift32
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 31 - 1) * scale;
  }
  return out;
};

export class GeneratedSource implements TensorSource {
  /** Keys in the order they were read. */
  readonly reads: string[] = [];

  constructor(
    private readonly shapes: ReadonlyMap<string, readonly number[]>,
    private readonly fill: Fill = zeros,
  ) {}

  keys(): string[] {
    return [...this.shapes.keys()];
  }

  shape(key: string): number[] {
    const s = this.shapes.get(key);
    if (!s) throw new Error(`no tensor ${key}`);
    return [...s];
  }

  async read(key: string): Promise<Float32Array> {
    this.reads.push(key);
    return this.fill(key, this.shape(key));
  }
}

/**
 * A WeightSink that assigns offsets without storing bytes: for key-mapping checks, or to build a second
 * graph over a weights file an identical build already wrote (same weights, same order, same offsets).
 */
export class CountingSink implements WeightSink {
  size = 0;

  constructor(readonly location = 'weights.bin') {}

  async write(bytes: Uint8Array): Promise<{ offset: number; length: number }> {
    const offset = this.size;
    this.size += bytes.byteLength;
    return { offset, length: bytes.byteLength };
  }
}
