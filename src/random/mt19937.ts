/**
 * MT19937, the 32-bit Mersenne Twister of Matsumoto and Nishimura (1998), as PyTorch's CPU generator
 * runs it: seeded with the standard `init_genrand`, tempered 32-bit outputs.
 *
 * State: 624 words in an `Int32Array` (bit patterns; read with `>>> 0` for the unsigned value).
 * `fillUint32` produces outputs in bulk, a block of 624 at a time, for the kernels that consume
 * millions of draws per step.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df | 0;
const UPPER = 0x80000000 | 0;
const LOWER = 0x7fffffff;

/**
 * @example
 * ```ts
 * const mt = new MersenneTwister19937(5489);
 * mt.nextUint32(); // 3499211612, the reference's first output for seed 5489
 * ```
 */
export class MersenneTwister19937 {
  private readonly state = new Int32Array(N);
  private index = N;

  constructor(seed: number) {
    this.seed(seed);
  }

  /** Re-seeds with the low 32 bits of `seed` (standard `init_genrand`). */
  seed(seed: number): void {
    const s = this.state;
    s[0] = seed | 0;
    for (let i = 1; i < N; i++) {
      const prev = s[i - 1] ^ (s[i - 1] >>> 30);
      // 1812433253 * prev + i (mod 2^32): Math.imul multiplies modulo 2^32.
      s[i] = (Math.imul(1812433253, prev) + i) | 0;
    }
    this.index = N;
  }

  /** A copy of the state and position, for tests and for forking a stream. */
  snapshot(): { state: Int32Array; index: number } {
    return { state: this.state.slice(), index: this.index };
  }

  private twist(): void {
    const s = this.state;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = (s[kk] & UPPER) | (s[kk + 1] & LOWER);
      s[kk] = s[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = (s[kk] & UPPER) | (s[kk + 1] & LOWER);
      s[kk] = s[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (s[N - 1] & UPPER) | (s[0] & LOWER);
    s[N - 1] = s[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.index = 0;
  }

  /** The next tempered output, as an unsigned 32-bit number. */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Writes the next `count` outputs into `out[offset …]` (bit patterns; `Uint32Array` shows them
   * unsigned), exactly as `count` calls of {@link nextUint32} would.
   */
  fillUint32(out: Uint32Array | Int32Array, offset = 0, count = out.length - offset): void {
    const s = this.state;
    let idx = this.index;
    let o = offset;
    const end = offset + count;
    while (o < end) {
      if (idx >= N) {
        this.twist();
        idx = 0;
      }
      const stop = Math.min(end, o + (N - idx));
      for (; o < stop; o++) {
        let y = s[idx++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        out[o] = y;
      }
    }
    this.index = idx;
  }
}
