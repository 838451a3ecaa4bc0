// The 32-bit Mersenne Twister exactly as PyTorch's CPU generator runs it (ATen's mt19937 engine): the
// classic MT19937 recurrence and tempering, seeded with the low 32 bits of a 64-bit seed.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

/** A seed as PyTorch accepts it: an integer in [0, 2^64). */
export type TorchSeed = number | bigint;

/** The low 32 bits of a seed, after checking it is an integer torch would accept. */
export function low32(seed: TorchSeed): number {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw new RangeError(`seed ${seed} is outside [0, 2^64)`);
    return Number(seed & 0xffffffffn);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed ${seed} must be a non-negative safe integer (pass a bigint for seeds above 2^53)`);
  }
  return seed % 0x100000000;
}

export class Mt19937 {
  private readonly state = new Uint32Array(N);
  private next = N;

  constructor(seed: TorchSeed) {
    const s = this.state;
    s[0] = low32(seed);
    for (let j = 1; j < N; j++) {
      const prev = s[j - 1]! ^ (s[j - 1]! >>> 30);
      // 1812433253 * prev overflows 2^53 in doubles: Math.imul keeps the low 32 bits exactly.
      s[j] = (Math.imul(1812433253, prev) + j) >>> 0;
    }
  }

  /** Next 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    if (this.next >= N) this.twist();
    let y = this.state[this.next++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const s = this.state;
    for (let k = 0; k < N; k++) {
      const y = (s[k]! & UPPER) | (s[(k + 1) % N]! & LOWER);
      s[k] = s[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.next = 0;
  }
}
