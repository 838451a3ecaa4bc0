// Where Gaussian noise comes from. Pipelines and stochastic schedulers (Euler ancestral, LCM) draw all
// their randomness through this interface, never from a global, so that a seed reproduces an image and
// tests can inject recorded noise.

export interface NoiseSource {
  /** Standard normal samples for a tensor of this shape, C order. */
  randn(shape: readonly number[]): Float32Array;
}

/** Replays pre-recorded tensors in order (e.g. a reference run's `noise_queue.npy`). */
export class QueuedNoise implements NoiseSource {
  private next = 0;
  constructor(private readonly tensors: readonly Float32Array[]) {}

  randn(shape: readonly number[]): Float32Array {
    const size = shape.reduce((a, b) => a * b, 1);
    const tensor = this.tensors[this.next];
    if (!tensor) throw new Error(`noise queue exhausted after ${this.next} tensors`);
    if (tensor.length !== size) throw new Error(`noise tensor ${this.next} has ${tensor.length} values, ${size} requested`);
    this.next++;
    return tensor;
  }

  get remaining(): number {
    return this.tensors.length - this.next;
  }
}
