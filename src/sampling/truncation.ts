/**
 * Truncation sampling as the reference pipeline's `truncate`: per pixel, sort the classes by
 * probability, keep the most probable ones while the cumulative probability before them is below the
 * rate (always the top one), and give the rest log 0. Top-k truncation (from the original
 * VQ-Diffusion code) keeps at most the k most probable; both may apply. Then `clampLogProbabilities` replaces every
 * value below −70 (−inf included) by −70, as the pipeline does before the step.
 */
import { argumentError } from "../errors.js";
import { checkLogProbabilityTensor } from "../tensor/checkLogProbabilities.js";
import type { Tensor } from "../tensor/types.js";

/**
 * @param logp - log p(x_0 | x_t), shape (B, C, N), finite or −inf (never NaN or +inf); not modified.
 * @param rate - in (0, 1]; 1 keeps every class whose preceding cumulative probability (float32) is
 *   below 1, as the reference (so classes past the point where the float32 sum reaches 1 go).
 * @param topK - when given, also keep at most the k most probable classes (top-k truncation).
 * @returns a new tensor of the same shape, truncated classes at −inf.
 *
 * @example
 * ```ts
 * truncateLogProbabilities(logp, 0.9); // keeps the top classes covering 90% of each pixel's mass
 * ```
 */
export function truncateLogProbabilities(logp: Tensor<Float32Array>, rate: number, topK?: number): Tensor<Float32Array> {
  if (typeof rate !== "number" || !(rate > 0 && rate <= 1)) throw argumentError("truncationRate", "a number in (0, 1]", rate);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw argumentError("truncationTopK", "an integer >= 1", topK);
  const { B, C, N, data: src } = checkLogProbabilityTensor("logp", logp);
  return { data: truncated(src, B, C, N, rate, topK), dims: [B, C, N] };
}

/**
 * Truncation on data already checked (the sampler checks its denoiser's output once): a new array,
 * `src` not modified. `rate` in (0, 1], `topK` an integer ≥ 1 when given.
 */
export function truncated(src: Float32Array, B: number, C: number, N: number, rate: number, topK?: number): Float32Array {
  const out = src.slice();
  truncateFast(src, out, B, C, N, Math.fround(rate), topK ?? Infinity);
  return out;
}

/** Puts one pixel's classes in descending order of value, equal values in class order. */
export type PixelSorter = (values: Float32Array, order: Int32Array, keys: Float64Array) => void;

/**
 * The plain truncation loop, the oracle: for each pixel, all classes sorted (comparator sort), kept in
 * that order while the float32 cumulative probability before them is below r (and fewer than k are
 * kept), the top one always. Cumulative sums accumulate in float64 and round to float32, as
 * PyTorch's CPU cumsum.
 */
export function truncatePlain(src: Float32Array, out: Float32Array, B: number, C: number, N: number, r: number, k: number): void {
  const order = new Int32Array(C);
  const values = new Float32Array(C);
  const keys = new Float64Array(C);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const base = b * C * N + n;
      for (let c = 0; c < C; c++) values[c] = src[base + c * N];
      sortedByComparator(values, order, keys);
      let cum = 0;
      for (let rank = 0; rank < C; rank++) {
        const c = order[rank];
        const keep = rank === 0 || (Math.fround(cum) < r && rank < k);
        cum += Math.fround(Math.exp(values[c]));
        if (!keep) out[base + c * N] = -Infinity;
      }
    }
  }
}

/** Classes taken by selection before falling back to a full sort of the pixel. */
const SELECTED = 8;

/**
 * The fast truncation loop, the same result as {@link truncatePlain}. Once a rank is cut, every
 * later one is (the cumulative sum and the rank only grow), so only the classes before the cut need
 * their order: the first {@link SELECTED} are found by selection (the largest value left, the
 * lowest class on ties: the sort's order), and only a pixel that keeps more is sorted whole, with
 * one native sort of packed keys ({@link sortedBySortKey}). No exp is computed past the cut.
 */
export function truncateFast(src: Float32Array, out: Float32Array, B: number, C: number, N: number, r: number, k: number): void {
  const order = new Int32Array(C);
  const values = new Float32Array(C);
  const keys = new Float64Array(C);
  const taken = new Uint8Array(C);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const base = b * C * N + n;
      for (let c = 0; c < C; c++) values[c] = src[base + c * N];
      taken.fill(0);
      let cum = 0;
      let rank = 0;
      let cut = false;
      for (; rank < Math.min(SELECTED, C); rank++) {
        if (rank > 0 && !(Math.fround(cum) < r && rank < k)) {
          cut = true;
          break;
        }
        let best = -1;
        for (let c = 0; c < C; c++) if (taken[c] === 0 && (best < 0 || values[c] > values[best])) best = c;
        taken[best] = 1;
        cum += Math.fround(Math.exp(values[best]));
      }
      if (!cut && rank < C) {
        // More than SELECTED kept: the rest in sorted order (its first `rank` entries are the taken ones).
        sortedBySortKey(values, order, keys);
        for (; rank < C; rank++) {
          if (!(Math.fround(cum) < r && rank < k)) break;
          const c = order[rank];
          taken[c] = 1;
          cum += Math.fround(Math.exp(values[c]));
        }
      }
      for (let c = 0; c < C; c++) if (taken[c] === 0) out[base + c * N] = -Infinity;
    }
  }
}

/** The plain sorter: a comparator sort of class indices (the oracle the fast one is tested against). */
export const sortedByComparator: PixelSorter = (values, order) => {
  for (let c = 0; c < order.length; c++) order[c] = c;
  order.sort((i, j) => values[j] - values[i] || i - j);
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const CLASS_BITS = 2 ** 17; // > the largest K (LIMITS.maxNumVecClasses)

/**
 * The fast sorter: one native sort of float64 keys. A float32's bits, made monotone in its value
 * (negative: all bits flipped; positive: the sign bit set), then reversed (descending values first),
 * times 2^17, plus the class: distinct, exact integers below 2^49, whose ascending order is
 * (value descending, class ascending), the comparator's order.
 */
export const sortedBySortKey: PixelSorter = (values, order, keys) => {
  for (let c = 0; c < values.length; c++) {
    f32[0] = values[c] + 0; // -0 as +0: the comparator holds them equal
    const bits = u32[0];
    const monotone = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    keys[c] = (0xffffffff - monotone) * CLASS_BITS + c;
  }
  keys.sort();
  for (let rank = 0; rank < values.length; rank++) order[rank] = keys[rank] % CLASS_BITS;
};

/**
 * The pipeline's `clamp(-70)`: values below −70 (−inf included) become −70; a new array, same dims.
 *
 * @example
 * ```ts
 * clampLogProbabilities({ data: Float32Array.of(-Infinity, -1), dims: [1, 2, 1] }).data; // [-70, -1]
 * ```
 */
export function clampLogProbabilities(logp: Tensor<Float32Array>, min = -70): Tensor<Float32Array> {
  if (typeof min !== "number" || !Number.isFinite(min)) throw argumentError("min", "a finite number", min);
  checkLogProbabilityTensor("logp", logp);
  const out = logp.data.slice();
  clampInPlace(out, min);
  return { data: out, dims: [...logp.dims] };
}

/** Values below `min` (−inf included) become `min`, in place: for an array the caller owns. */
export function clampInPlace(data: Float32Array, min: number): void {
  for (let i = 0; i < data.length; i++) if (data[i] < min) data[i] = min;
}
