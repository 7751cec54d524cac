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

/** Classes taken by selection before the rest of the pixel is decided from its tail (or sorted). */
const SELECTED = 8;

/**
 * The fast truncation loop, the same result as {@link truncatePlain}. Once a rank is cut, every
 * later one is (the cumulative sum and the rank only grow), so only the classes before the cut need
 * their order: the first {@link SELECTED} are found by selection (the largest value left, the
 * lowest class on ties: the sort's order), in one pass. A pixel that keeps more (a flat one, or
 * any pixel at rate 1) is decided from its tail instead ({@link cutTail}), and sorted whole, with
 * one native sort of packed keys ({@link sortedBySortKey}), only with top-k or where the tail
 * cannot decide it.
 */
export function truncateFast(src: Float32Array, out: Float32Array, B: number, C: number, N: number, r: number, k: number): void {
  const pixel = pixelTruncator(C, r, k);
  const values = new Float32Array(C);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const base = b * C * N + n;
      for (let c = 0; c < C; c++) values[c] = src[base + c * N];
      const taken = pixel(values, null);
      for (let c = 0; c < C; c++) if (taken[c] === 0) out[base + c * N] = -Infinity;
    }
  }
}

/**
 * One pixel of {@link truncateFast}: `(values, prob)` marks the kept classes of `values` (C log-
 * probabilities) in the returned array (1 kept, 0 cut; the truncator's own scratch, valid until its
 * next call). `prob`, when given, holds fround(exp(values[c])) for every class, as the loop would
 * compute them (a caller that has them saves the exponentials); null: computed where needed.
 */
export type PixelTruncator = (values: Float32Array, prob: Float32Array | null) => Uint8Array;

/**
 * Makes the {@link PixelTruncator} for C classes at rate `r` (a float32 in (0, 1]) and top-k `k`
 * (Infinity for none), with its scratch arrays (one per caller: not shared between threads or runs).
 */
export function pixelTruncator(C: number, r: number, k: number): PixelTruncator {
  const order = new Int32Array(C);
  const keys = new Float64Array(C);
  const taken = new Uint8Array(C);
  const mass = new Float64Array(C);
  const cand = new Int32Array(C);
  const top = new Int32Array(SELECTED);
  const mid = roundingBoundary(r);
  const heads = Math.min(SELECTED, C);
  return (values, prob) => {
    taken.fill(0);
    // The first SELECTED classes of the order, in one pass: a short list kept sorted by insertion
    // (classes arrive in ascending order, so a tie never displaces an earlier class).
    for (let c = 0; c < C; c++) {
      const v = values[c];
      if (c >= heads && !(v > values[top[heads - 1]])) continue;
      let at = Math.min(c, heads - 1);
      while (at > 0 && v > values[top[at - 1]]) {
        top[at] = top[at - 1];
        at--;
      }
      top[at] = c;
    }
    let cum = 0;
    let rank = 0;
    let cut = false;
    for (; rank < heads; rank++) {
      if (rank > 0 && !(Math.fround(cum) < r && rank < k)) {
        cut = true;
        break;
      }
      taken[top[rank]] = 1;
      cum += prob ? prob[top[rank]] : Math.fround(Math.exp(values[top[rank]]));
    }
    if (!cut && rank < C && !(k >= C && cutTail(values, prob, taken, cum, mid, mass, keys, cand))) {
      // More than SELECTED kept and the tail undecided: the rest in sorted order (its first `rank`
      // entries are the taken ones).
      sortedBySortKey(values, order, keys);
      for (; rank < C; rank++) {
        if (!(Math.fround(cum) < r && rank < k)) break;
        const c = order[rank];
        taken[c] = 1;
        cum += prob ? prob[c] : Math.fround(Math.exp(values[c]));
      }
    }
    return taken;
  };
}

/** The float64 boundary b of `fround(x) < r` for a float32 r > 0: x < b keeps, x > b cuts (b itself is a tie). */
export function roundingBoundary(r: number): number {
  f32[0] = r;
  u32[0] -= 1;
  return (f32[0] + r) / 2;
}

/**
 * How far apart, in float64, two sums of a pixel's float32 probabilities may be and still decide the
 * same way: sums of the same C terms in other orders differ by under C·2^-52 ≤ 3e-11 (C ≤ 2^17);
 * {@link cutTail} also drops classes under e^-46, together under 1.5e-15.
 */
export const ORDER_MARGIN = 1e-10;

/**
 * A pixel's truncation from two sums, without sorting (no top-k): with `slack` = total − mid (total:
 * the float64 sum of its float32 probabilities p, in any order; mid = {@link roundingBoundary}(r)) and
 * T = the classes with p ≤ slack + {@link ORDER_MARGIN}, of mass `tailMass`: when slack is below
 * −margin, every class stays (no running sum reaches mid); when tailMass ≤ slack − margin, exactly T
 * goes (every class outside T weighs more than any in T, so T is the end of the order; the sum before
 * T is ≥ mid + margin, before T's last outsider < mid − margin). Returns 0 (keep all), 1 (cut T) or
 * −1 (undecided: sort or select as {@link pixelTruncator} does).
 */
export function tailDecision(slack: number, tailMass: number): -1 | 0 | 1 {
  if (slack < -ORDER_MARGIN) return 0;
  return tailMass <= slack - ORDER_MARGIN ? 1 : -1;
}

/** How near the boundary a sum must come for {@link cutTail} to leave the pixel to the exact sort. */
const TAIL_MARGIN = 1e-12;
/** Log-probabilities below this count as mass 0 in {@link cutTail}'s sums. */
const NEGLIGIBLE_LOG = -46;

/**
 * Decides the classes not yet taken without sorting them, when no top-k applies. With the remaining
 * classes in sorted order and p their float32 probabilities, rank j is cut when the sum of everything
 * before it reaches the boundary: cum + prefix(j) ≥ mid, that is suffix(j) ≤ slack with
 * slack = cum + Σ p − mid. So the cut classes are the longest tail of the order whose mass stays
 * within slack: none when slack < 0, and only classes with p ≤ slack can be in it. That tail is found
 * by a weighted quickselect over those light classes (expected linear time): a pivot's later classes
 * either all fit (cut; go on before the pivot) or not (look among them). The sums here are in another
 * order than the plain loop's running sum (float64: within C·2^-52 of each other; classes below e^-46,
 * under 1.1e-20 each, are counted as 0), so a decision
 * closer than TAIL_MARGIN to its boundary returns false and the caller sorts the pixel whole.
 * Marks kept classes in `taken`; returns whether it decided. `prob`: the classes' float32
 * probabilities when the caller has them (else computed). `keyOf` and `cand` are C-long scratch.
 */
function cutTail(
  values: Float32Array,
  prob: Float32Array | null,
  taken: Uint8Array,
  cum: number,
  mid: number,
  mass: Float64Array,
  keyOf: Float64Array,
  cand: Int32Array,
): boolean {
  const C = values.length;
  let total = cum;
  for (let c = 0; c < C; c++) {
    // Below e^-46 a class weighs under 1.1e-20: taken as 0 (C of them stay far inside TAIL_MARGIN).
    if (taken[c] === 0) total += mass[c] = values[c] < NEGLIGIBLE_LOG ? 0 : prob ? prob[c] : Math.fround(Math.exp(values[c]));
  }
  const slack = total - mid;
  if (Math.abs(slack) <= TAIL_MARGIN) return false;
  let count = 0;
  if (slack > 0) {
    for (let c = 0; c < C; c++) {
      if (taken[c] === 0 && mass[c] <= slack + TAIL_MARGIN) {
        keyOf[c] = sortKey(values[c], c);
        cand[count++] = c;
      }
    }
  }
  // cand[0, lo) is kept, cand[lo, hi) undecided, cand[hi, count) cut. Keys ascending = the sort's order.
  let lo = 0;
  let hi = count;
  let budget = slack;
  while (lo < hi) {
    const pivot = cand[lo + ((hi - lo) >> 1)];
    const pk = keyOf[pivot];
    // Partition [lo, hi): earlier classes (key ≤ the pivot's) to the front, later ones to the back.
    let i = lo;
    let j = hi - 1;
    let later = 0;
    while (i <= j) {
      const c = cand[i];
      if (keyOf[c] > pk) {
        later += mass[c];
        cand[i] = cand[j];
        cand[j--] = c;
      } else i++;
    }
    if (Math.abs(later - budget) <= TAIL_MARGIN) return false;
    if (later > budget) {
      // The tail ends among the later classes: the pivot and everything before it stay.
      lo = i;
      continue;
    }
    // Every later class is cut; the pivot is now the last undecided one in the order.
    budget -= later;
    hi = i;
    const at = cand.indexOf(pivot, lo);
    cand[at] = cand[hi - 1];
    cand[hi - 1] = pivot;
    if (Math.abs(mass[pivot] - budget) <= TAIL_MARGIN) return false;
    if (mass[pivot] > budget) break; // kept, and so is everything before it
    budget -= mass[pivot];
    hi -= 1;
  }
  for (let c = 0; c < C; c++) taken[c] = 1;
  for (let t = hi; t < count; t++) taken[cand[t]] = 0;
  return true;
}

/** The plain sorter: a comparator sort of class indices (the oracle the fast one is tested against). */
export const sortedByComparator: PixelSorter = (values, order) => {
  for (let c = 0; c < order.length; c++) order[c] = c;
  order.sort((i, j) => values[j] - values[i] || i - j);
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const CLASS_BITS = 2 ** 17; // > the largest K (LIMITS.maxNumVecClasses)

/** Class c's key in {@link sortedBySortKey}'s order (ascending keys = value descending, class ascending). */
function sortKey(value: number, c: number): number {
  f32[0] = value + 0; // -0 as +0: the comparator holds them equal
  const bits = u32[0];
  const monotone = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return (0xffffffff - monotone) * CLASS_BITS + c;
}

/**
 * The fast sorter: one native sort of float64 keys. A float32's bits, made monotone in its value
 * (negative: all bits flipped; positive: the sign bit set), then reversed (descending values first),
 * times 2^17, plus the class: distinct, exact integers below 2^49, whose ascending order is
 * (value descending, class ascending), the comparator's order.
 */
export const sortedBySortKey: PixelSorter = (values, order, keys) => {
  for (let c = 0; c < values.length; c++) keys[c] = sortKey(values[c], c);
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
