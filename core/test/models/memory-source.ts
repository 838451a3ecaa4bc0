// In-memory TensorSources for builder tests: shapes from a key listing, data made on demand.
import type { TensorSource, WeightSink } from '../../src/models/types.js';

/** A source whose tensors are generated on read (`fill(key, length)`), recording which keys were read. */
export class GeneratedSource implements TensorSource {
  readonly reads: string[] = [];

  constructor(
    private readonly shapes: ReadonlyMap<string, number[]>,
    private readonly fill: (key: string, length: number) => Float32Array = (_, n) => new Float32Array(n),
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
    return this.fill(key, this.shape(key).reduce((a, b) => a * b, 1));
  }
}

/** A sink that keeps only the byte count (and, optionally, the bytes). */
export class CountingSink implements WeightSink {
  readonly location = 'weights.bin';
  size = 0;
  readonly chunks: Uint8Array[] = [];

  constructor(private readonly keep = false) {}

  async write(bytes: Uint8Array): Promise<{ offset: number; length: number }> {
    const offset = this.size;
    this.size += bytes.byteLength;
    if (this.keep) this.chunks.push(bytes.slice());
    return { offset, length: bytes.byteLength };
  }
}
