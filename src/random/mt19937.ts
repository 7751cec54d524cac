/**
 * MT19937, the 32-bit Mersenne Twister of Matsumoto and Nishimura (1998), as PyTorch's CPU generator
 * runs it: seeded with the standard `init_genrand`, tempered 32-bit outputs.
 *
 * State: 624 words in an `Int32Array` (bit patterns; read with `>>> 0` for the unsigned value) and a
 * position. `fillUint32` produces outputs in bulk; `saveTo`/`loadFrom` hand the state to the WASM
 * kernel (`src/kernels/wasm`), which advances the same stream.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df | 0;
const UPPER = 0x80000000 | 0;
const LOWER = 0x7fffffff;

/** Words of state. */
export const MT_STATE_WORDS = N;
/** Length of what `saveTo` writes: the state words, then the position. */
export const MT_SAVED_LENGTH = N + 1;

/** One MT19937 twist of a 624-word state, in place: the words of the next 624 outputs, untempered. */
export function twistState(s: Int32Array): void {
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
}

/** MT19937's tempering of one state word, as a signed 32-bit bit pattern. */
export function temper(y: number): number {
  y ^= y >>> 11;
  y ^= (y << 7) & 0x9d2c5680;
  y ^= (y << 15) & 0xefc60000;
  return y ^ (y >>> 18);
}

/**
 * Writes the next `count` outputs of the stream held in `saved` (as `saveTo` lays it out) to
 * `out[0 … count)`, advancing `saved`.
 */
export function fillFromSaved(saved: Int32Array, out: Uint32Array | Int32Array, count: number): void {
  let idx = saved[N];
  let o = 0;
  while (o < count) {
    if (idx >= N) {
      twistState(saved);
      idx = 0;
    }
    const stop = Math.min(count, o + (N - idx));
    for (; o < stop; o++) out[o] = temper(saved[idx++]);
  }
  saved[N] = idx;
}

/** Advances the stream held in `saved` (as `saveTo` lays it out) by `count` outputs without producing them. */
export function skipSaved(saved: Int32Array, count: number): void {
  let idx = saved[N];
  while (count > 0) {
    if (idx >= N) {
      twistState(saved);
      idx = 0;
    }
    const n = Math.min(count, N - idx);
    idx += n;
    count -= n;
  }
  saved[N] = idx;
}

/**
 * The columns [n0, n0 + W) of the next `rows` rows of `rowLength` outputs: `out[r·W + j]` receives
 * output r·rowLength + n0 + j of the stream in `saved`, which advances by rows·rowLength (what one thread of a step split
 * by pixels needs from the reference's (class, pixel) stream). With n0 = 0 and W = rowLength it equals
 * `fillFromSaved(saved, out, rows·rowLength)`.
 */
export function fillColumnsFromSaved(saved: Int32Array, out: Uint32Array | Int32Array, rows: number, rowLength: number, n0: number, W: number): void {
  for (let r = 0; r < rows; r++) {
    skipSaved(saved, n0);
    fillFromSaved(saved, out.subarray(r * W, (r + 1) * W), W);
    skipSaved(saved, rowLength - n0 - W);
  }
}

/**
 * @example
 * ```ts
 * const mt = new MersenneTwister19937(5489);
 * mt.nextUint32(); // 3499211612, the reference's first output for seed 5489
 * ```
 */
export class MersenneTwister19937 {
  private readonly saved = new Int32Array(N + 1);

  constructor(seed: number) {
    this.seed(seed);
  }

  /** Re-seeds with the low 32 bits of `seed` (standard `init_genrand`). */
  seed(seed: number): void {
    const s = this.saved;
    s[0] = seed | 0;
    for (let i = 1; i < N; i++) {
      const prev = s[i - 1] ^ (s[i - 1] >>> 30);
      // 1812433253 * prev + i (mod 2^32): Math.imul multiplies modulo 2^32.
      s[i] = (Math.imul(1812433253, prev) + i) | 0;
    }
    s[N] = N;
  }

  /** Copies the state and position into `out[0 … 624]` (624 words, then the position). */
  saveTo(out: Int32Array): void {
    out.set(this.saved);
  }

  /** Restores a state and position laid out as {@link saveTo} writes them. */
  loadFrom(src: Int32Array): void {
    this.saved.set(src.subarray(0, N + 1));
  }

  /** The next tempered output, as an unsigned 32-bit number. */
  nextUint32(): number {
    const s = this.saved;
    if (s[N] >= N) {
      twistState(s);
      s[N] = 0;
    }
    return temper(s[s[N]++]) >>> 0;
  }

  /**
   * Writes the next `count` outputs into `out[offset …]` (bit patterns; `Uint32Array` shows them
   * unsigned), exactly as `count` calls of {@link nextUint32} would.
   */
  fillUint32(out: Uint32Array | Int32Array, offset = 0, count = out.length - offset): void {
    fillFromSaved(this.saved, offset === 0 ? out : out.subarray(offset), count);
  }
}
