/**
 * Guidance, renormalisation, truncation and the clamp in one pass over the denoiser's output: what
 * the sampler does to it before each step. The same float32 values, bit for bit, as the plain
 * composition it replaces and that the tests compare it with, {@link guideTruncateClampPlain}:
 * `clamp(truncate(guide(output)), −70)`.
 *
 * Why it is faster: the plain functions walk the (B, C, N) data pixel by pixel, C values N apart;
 * here every pass runs along rows of N contiguous values with per-pixel accumulators (the sums keep
 * each pixel's class order, so every float64 sum is the plain one's), one output array is allocated
 * instead of three, and a pixel whose cut is decided by two sums ({@link tailDecision}; at rate 1,
 * about a fifth of the Fashion-MNIST model's pixels) is neither gathered nor sorted. The others go through truncation's own
 * per-pixel decision ({@link pixelTruncator}), given their probabilities. JavaScript rather than WebAssembly: every exponential must be `Math.exp`'s (the
 * renormaliser rounds its float64 sum to float32; a polynomial exp would change some of its bits).
 */
import { guide } from "./guidance.js";
import { clampInPlace, ORDER_MARGIN, pixelTruncator, roundingBoundary, tailDecision, truncated } from "./truncation.js";

/** The clamp applied before the step (the reference pipeline's `clamp(-70)`). */
export const LOG_PROBABILITY_FLOOR = -70;

/**
 * The plain composition, the oracle of {@link guideTruncateClamp}: guidance (when `guided`), then
 * truncation, then the clamp, each as its own function.
 */
export function guideTruncateClampPlain(src: Float32Array, B: number, C: number, N: number, guided: boolean, scale: number, rate: number, topK: number | undefined, scaleName: string): Float32Array {
  const kept = truncated(guided ? guide(src, B, C, N, scale, scaleName) : src, B, C, N, rate, topK);
  clampInPlace(kept, LOG_PROBABILITY_FLOOR);
  return kept;
}

/**
 * @param src - the denoiser's output, already checked (finite or −inf, a finite class at every
 *   pixel): (2B, C, N) [unconditional; conditional] when `guided`, else (B, C, N). Not modified.
 * @param scale - the guidance scale (used when `guided`); `rate` in (0, 1]; `topK` ≥ 1 or undefined.
 * @returns a new (B, C, N) Float32Array: guided and renormalised, truncated, clamped at −70.
 * @throws the errors of `guide` (named `scaleName`), from `guide` itself, for the inputs it rejects.
 *
 * @example
 * ```ts
 * const kept = guideTruncateClamp(output, 2, 256, 49, true, 5, 1, undefined, "guidanceScale"); // (4, 256, 49) → (2, 256, 49)
 * ```
 */
export function guideTruncateClamp(src: Float32Array, B: number, C: number, N: number, guided: boolean, scale: number, rate: number, topK: number | undefined, scaleName: string): Float32Array {
  const { out, renormalise } = prepareGuidance(src, B, C, N, guided, scale, scaleName, new Float32Array(B * C * N));
  truncateClampPixels(out, B, C, N, 0, N, renormalise, rate, topK);
  return out;
}

/** The outcome of {@link prepareGuidance}. */
export interface PreparedGuidance {
  /** (B, C, N): the `into` array given, or (when guidance took its special cases) a new one. */
  readonly out: Float32Array;
  /** Whether `out` holds the guided combination not yet renormalised (else log-probabilities as they are). */
  readonly renormalise: boolean;
}

/**
 * The part of {@link guideTruncateClamp} that reads `src`, pixel columns not yet independent: the
 * guided combination u + s·(c − u) into `into` (to be renormalised), or, where an element needs
 * one of `guide`'s special cases or errors, `guide`'s own renormalised output (a new array); not
 * guided, a copy of `src` into `into`. Every error of the pass is thrown here.
 *
 * @param into - (B, C, N) float32, overwritten (e.g. a view of a SharedArrayBuffer that threads share).
 * @throws the errors of `guide` (named `scaleName`).
 *
 * @example
 * ```ts
 * const { out, renormalise } = prepareGuidance(output, 2, 256, 49, true, 5, "guidanceScale", new Float32Array(2 * 256 * 49));
 * truncateClampPixels(out, 2, 256, 49, 0, 49, renormalise, 1, undefined); // out is now guideTruncateClamp's
 * ```
 */
export function prepareGuidance(src: Float32Array, B: number, C: number, N: number, guided: boolean, scale: number, scaleName: string, into: Float32Array): PreparedGuidance {
  if (!guided) {
    into.set(src.subarray(0, B * C * N));
    return { out: into, renormalise: false };
  }
  // guidedRows leaves the inputs it does not take (−inf, scale 0, errors) to guide() itself, whose
  // output is renormalised already.
  if (guidedRows(src, B, C, N, scale, into)) return { out: into, renormalise: true };
  return { out: guide(src, B, C, N, scale, scaleName), renormalise: false };
}

/**
 * The rest of {@link guideTruncateClamp}, in place, on the pixels [n0, n1) of every image of `out`
 * (B, C, N): renormalisation (when `renormalise`), truncation at `rate` (in (0, 1]) and `topK` (≥ 1
 * or undefined), and the clamp at −70. Each pixel's values depend on its own column only, so the
 * ranges of a split give, together, the bits of the whole range [0, N).
 *
 * @example
 * ```ts
 * // Two threads' shares of a (B, C, N) = (16, 256, 49) prepared array, the same bits as [0, 49) at once:
 * truncateClampPixels(out, 16, 256, 49, 0, 24, true, 1, undefined);
 * truncateClampPixels(out, 16, 256, 49, 24, 49, true, 1, undefined);
 * ```
 */
export function truncateClampPixels(out: Float32Array, B: number, C: number, N: number, n0: number, n1: number, renormalise: boolean, rate: number, topK: number | undefined): void {
  const W = n1 - n0;
  const r = Math.fround(rate);
  const k = topK ?? Infinity;
  const mid = roundingBoundary(r);
  const pixel = pixelTruncator(C, r, k);
  const prob = new Float32Array(C * W);
  const scaled = new Float64Array(renormalise ? C * W : 0);
  const total = new Float64Array(W);
  const bound = new Float64Array(W);
  const tail = new Float64Array(W);
  const max = new Float64Array(W);
  const decision = new Int8Array(W);
  const values = new Float32Array(C);
  const probs = new Float32Array(C);
  const floor = LOG_PROBABILITY_FLOOR;
  for (let b = 0; b < B; b++) {
    // The block's rows: class c's values for pixels n0 + j, j < W, start at at + c·N.
    const at = b * C * N + n0;
    // Each pixel's float32 probabilities (for this b, as rows of W) and their float64 total.
    if (renormalise) renormaliseRows(out, at, C, N, W, max, total, scaled, prob);
    else probabilityRows(out, at, C, N, W, total, prob);
    // From the total, the mass of the classes light enough to be cut all at once (tailDecision).
    for (let j = 0; j < W; j++) bound[j] = total[j] - mid + ORDER_MARGIN;
    tail.fill(0);
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < W; j++) {
        const p = prob[c * W + j];
        if (p <= bound[j]) tail[j] += p;
      }
    }
    for (let j = 0; j < W; j++) {
      decision[j] = k >= C ? tailDecision(total[j] - mid, tail[j]) : -1;
      if (decision[j] !== -1) continue;
      // Undecided (top-k, or a tail that does not fit): the per-pixel truncation, given the probabilities.
      for (let c = 0; c < C; c++) {
        values[c] = out[at + c * N + j];
        probs[c] = prob[c * W + j];
      }
      const taken = pixel(values, probs);
      for (let c = 0; c < C; c++) if (taken[c] === 0) out[at + c * N + j] = -Infinity;
    }
    // The cut tails, and the clamp.
    for (let c = 0; c < C; c++) {
      const row = at + c * N;
      for (let j = 0; j < W; j++) {
        const v = out[row + j];
        out[row + j] = (decision[j] === 1 && prob[c * W + j] <= bound[j]) || !(v >= floor) ? floor : v;
      }
    }
  }
}

/**
 * The guided combination u + s·(c − u) in float32, as `guide` computes it, for (2B, C, N) `src`, or
 * written into `out` (B, C, N); false when an element needs one of `guide`'s special cases or errors (a
 * −inf in either half, scale 0, a non-finite combination): the caller then runs `guide` itself. Not
 * yet renormalised.
 */
function guidedRows(src: Float32Array, B: number, C: number, N: number, scale: number, out: Float32Array): boolean {
  const s = Math.fround(scale);
  const half = B * C * N;
  if (s === 0) return false;
  for (let i = 0; i < half; i++) {
    const u = src[i];
    const c = src[half + i];
    // Both finite (a −inf is below every finite number; NaN and +inf were ruled out by the check).
    if (!(u > -Infinity && c > -Infinity)) return false;
    const v = Math.fround(u + Math.fround(s * Math.fround(c - u)));
    if (!(v < Infinity && v > -Infinity)) return false;
    out[i] = v;
  }
  return true;
}

/**
 * Float32 probabilities p = fround(exp(x)) of the block at `at` (C rows N apart, W values each) into
 * `prob` (C, W), and each pixel's float64 total.
 */
function probabilityRows(out: Float32Array, at: number, C: number, N: number, W: number, total: Float64Array, prob: Float32Array): void {
  total.fill(0);
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let j = 0; j < W; j++) {
      const p = Math.fround(Math.exp(out[row + j]));
      prob[c * W + j] = p;
      total[j] += p;
    }
  }
}

/** Relative width of the interval around an estimate of exp within which its float32 rounding must not change. */
const ROUNDING_GUARD = 1e-12;

/**
 * fround(Math.exp(x)), given `estimate`, a value within a relative 1e-13 of Math.exp(x): the
 * estimate's float32 rounding where every value within ±{@link ROUNDING_GUARD} of it rounds alike,
 * else Math.exp's.
 */
export function float32Exp(estimate: number, x: number): number {
  const p = Math.fround(estimate * (1 - ROUNDING_GUARD));
  return p === Math.fround(estimate * (1 + ROUNDING_GUARD)) ? p : Math.fround(Math.exp(x));
}

/**
 * x ← fround(x − lse) over the block of finite values at `at` (C rows N apart, W values each), lse =
 * fround(max + log Σ exp(x − max)) per pixel, the sum in class order (as `renormalise`, bit for bit);
 * then, as {@link probabilityRows}, p = fround(exp(x)) into `prob` (C, W) and the totals, without a
 * second exponential per value:
 * exp(x_new) = exp(x − max)·exp(max − lse)·exp(δ), δ = x_new − (x − lse) the rounding of x_new
 * (|δ| ≤ 2^-24·|x_new|, exp(δ) ≈ 1 + δ + δ²/2). The estimate is within about 1e-15 of exp(x_new)
 * (relative; both exponentials are Math.exp's, within an ulp); where the float32 rounding of the
 * interval ±1e-12 around it is not one value, Math.exp decides, so p is always fround(Math.exp(x_new)).
 * `max`, `total`: W-long scratch; `scaled`: C·W.
 */
function renormaliseRows(out: Float32Array, at: number, C: number, N: number, W: number, max: Float64Array, total: Float64Array, scaled: Float64Array, prob: Float32Array): void {
  max.fill(-Infinity);
  total.fill(0);
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let j = 0; j < W; j++) if (out[row + j] > max[j]) max[j] = out[row + j];
  }
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let j = 0; j < W; j++) {
      const e = Math.exp(out[row + j] - max[j]);
      scaled[c * W + j] = e;
      total[j] += e; // Σ exp(x − max) for now
    }
  }
  // total ← exp(max − lse) (the factor from exp(x − max) to exp(x − lse)); max ← lse.
  for (let j = 0; j < W; j++) {
    const lse = Math.fround(max[j] + Math.log(total[j]));
    total[j] = Math.exp(max[j] - lse);
    max[j] = lse;
  }
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let j = 0; j < W; j++) {
      const wide = out[row + j] - max[j];
      const x = Math.fround(wide);
      out[row + j] = x;
      const d = x - wide;
      prob[c * W + j] = float32Exp(scaled[c * W + j] * total[j] * (1 + d + 0.5 * d * d), x);
    }
  }
  total.fill(0);
  for (let c = 0; c < C; c++) for (let j = 0; j < W; j++) total[j] += prob[c * W + j];
}
