/**
 * The inner loops of the fused step, as an interface with two implementations: plain TypeScript
 * (`plainPrimitives.ts`, the readable specification, runs anywhere) and WebAssembly SIMD
 * (`wasm/wasmPrimitives.ts`, compiled from `assembly/kernels.ts`). The orchestration around them
 * (`fusedStep.ts`, `fastStep.ts`) is shared, so both give the same tokens.
 *
 * Layouts: a chunk is `rows` consecutive class rows of one batch item, `y[r * N + n]`; per-pixel
 * arrays have N entries. Arrays come from {@link StepPrimitives.workspace}: the WASM implementation
 * needs them inside its memory.
 */

/** Scratch arrays for one batch item of a step; sized by {@link WorkspaceShape}, reused across calls. */
export interface Workspace {
  /** A chunk of log-probabilities, rows·N. */
  readonly y: Float32Array;
  /** A chunk of raw generator draws, rows·N (and at least N). */
  readonly u: Uint32Array;
  /** Survivor flat indices r·N + n of a screened chunk, rows·N. */
  readonly surv: Int32Array;
  /** Per-chunk maxima, N. */
  readonly cmax: Float32Array;
  /** Running per-pixel maxima of log p(x_0), N. */
  readonly ref: Float32Array;
  /** Running per-pixel Σ exp(y − ref) over the summed rows, N. */
  readonly acc: Float64Array;
  /** Per-pixel row left out of the sums and forced through the screen (x_t's class), or −1; N. */
  readonly skip: Int32Array;
  /** Screen bound terms, N each: ub = max(y + A, Bb) + slack + g-bound ≥ value; pass if ub ≥ thr. */
  readonly A: Float32Array;
  readonly Bb: Float32Array;
  readonly thr: Float32Array;
  /** Per-block sums and the maxima they are relative to, blocks·N (fast mode). */
  readonly blockSum: Float64Array;
  readonly blockRef: Float32Array;
  /** Generator state as `MersenneTwister19937.saveTo` lays it out (625 words). */
  readonly mtState: Int32Array;
}

/** What a workspace must hold. */
export interface WorkspaceShape {
  /** Pixels per image. */
  N: number;
  /** Rows per chunk. */
  rows: number;
  /** Blocks of per-pixel sums kept (0 unless fast mode). */
  blocks: number;
}

export interface StepPrimitives {
  /** A workspace of at least `shape`; may reuse (and invalidate) the previous one. */
  workspace(shape: WorkspaceShape): Workspace;
  /** The next `count` MT19937 outputs of the stream in `state` into `out[0 … count)`; advances `state`. */
  mtFill(state: Int32Array, out: Uint32Array, count: number): void;
  /**
   * Columns [n0, n0 + W) of the next `rows` rows of N MT19937 outputs: `out[r·W + j]` = output
   * r·N + n0 + j; advances `state` by rows·N. With n0 = 0 and W = N, the same as `mtFill(rows·N)`.
   */
  mtFillColumns(state: Int32Array, out: Uint32Array, rows: number, N: number, n0: number, W: number): void;
  /** out[n] = max over r < rows of y[r·N + n]; NaN if any is NaN. */
  chunkMax(y: Float32Array, rows: number, N: number, out: Float32Array): void;
  /** Where cmax[n] > ref[n] or is NaN: acc[n] ·= exp(ref[n] − cmax[n]) (float64; 0 stays 0), ref[n] = cmax[n]. */
  raiseRef(cmax: Float32Array, ref: Float32Array, acc: Float64Array, N: number): void;
  /**
   * acc[n] += Σ_r exp(y[r·N + n] − ref[n]) (y ≤ ref), this call's sum within relative error
   * {@link EXP_SUM_RELATIVE_ERROR} of the exact value when rows ≤ {@link MAX_CHUNK_ROWS}; entries of
   * −inf add 0, and so do all entries of a pixel whose ref is −inf. When `block` is given, block[n]
   * receives this call's sum alone.
   */
  expSum(y: Float32Array, rows: number, N: number, ref: Float32Array, acc: Float64Array, block: Float64Array | null): void;
  /**
   * Writes to `surv` the flat indices i = r·N + n (in increasing order) of the candidates with
   * max(y[i] + A[n], Bb[n]) + slack + gBound(u[i]) ≥ thr[n] (within float32 rounding), or with
   * rowBase + r = force[n]; returns their count. gBound(u) = −⌊log2(2^24 − (u & 0xFFFFFF))⌋·ln 2 +
   * 24·ln 2 ≥ g(u): see `gumbelBound`.
   */
  screen(chunk: ScreenChunk): number;
}

/** What {@link StepPrimitives.screen} reads (all arrays from the workspace) and where it writes. */
export interface ScreenChunk {
  /** The chunk's log-probabilities, rows·N. */
  readonly y: Float32Array;
  /** Its raw draws, rows·N. */
  readonly u: Uint32Array;
  readonly rows: number;
  readonly N: number;
  /** The bulk's affine form per pixel, rounded up: the bound is max(y + A, Bb) + slack. */
  readonly A: Float32Array;
  readonly Bb: Float32Array;
  /** Per-pixel thresholds: a candidate whose bound stays below is skipped. */
  readonly thr: Float32Array;
  /** Per-pixel class always evaluated (x_t's own), or −1. */
  readonly force: Int32Array;
  /** The class of the chunk's first row. */
  readonly rowBase: number;
  /** ln 2 rounded up (logaddexp(u, v) ≤ max(u, v) + ln 2), or 0 at t = 0. */
  readonly slack: number;
  /** Receives the survivors' flat indices, rows·N. */
  readonly surv: Int32Array;
}

/** The most rows one `expSum` call may take (its float32 partial sums are exact to rows·2^-24). */
export const MAX_CHUNK_ROWS = 64;

/**
 * The largest relative error of the WASM kernels' float32 exp (`assembly/exp4.ts`) on any float32
 * input in [−87.3, 0]: 4.004e-6, measured over all of them by `node scripts/verify-exp.mjs` (the tests
 * re-check a sample).
 */
export const EXP4_RELATIVE_ERROR = 4.01e-6;

/**
 * Bound on the relative error of one `expSum` call's sum, in both implementations: each term within
 * EXP4_RELATIVE_ERROR of the exp of its float32 argument, that argument (y − ref in float32) within
 * 2^-24·87.3 ≤ 5.3e-6 of the exact difference (terms below −87.3 are 0, under 1e-38 of the sum), and
 * at most MAX_CHUNK_ROWS − 1 float32 additions of positive terms, 63·2^-24 ≤ 3.8e-6.
 */
export const EXP_SUM_RELATIVE_ERROR = 1.5e-5;

/**
 * An upper bound on the Gumbel noise g(u) = −log(−log(u + 1e-30) + 1e-30) of a float32 uniform
 * u = m / 2^24, without a logarithm: −log u ≥ 1 − u and 1 − u ≥ 2^e with e = ⌊log2(2^24 − m)⌋ − 24,
 * so g(u) ≤ −log(1 − u) ≤ −e·ln 2.
 *
 * @example
 * ```ts
 * gumbelBound(0); // 0 (g(0) = −4.24)
 * gumbelBound(0xffffff); // 24·ln 2 = 16.64 (g = 16.64)
 * ```
 */
export function gumbelBound(draw: number): number {
  const m = draw & 0xffffff;
  return -(31 - Math.clz32(0x1000000 - m) - 24) * Math.LN2;
}
