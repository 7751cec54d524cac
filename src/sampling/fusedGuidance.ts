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
 */
export function guideTruncateClamp(src: Float32Array, B: number, C: number, N: number, guided: boolean, scale: number, rate: number, topK: number | undefined, scaleName: string): Float32Array {
  const size = B * C * N;
  // guidedRows leaves the inputs it does not take (−inf, scale 0, errors) to guide() itself, whose
  // output is renormalised already.
  let out = guided ? guidedRows(src, B, C, N, scale) : null;
  const renormalise = out !== null;
  if (out === null) out = guided ? guide(src, B, C, N, scale, scaleName) : src.slice(0, size);
  const r = Math.fround(rate);
  const k = topK ?? Infinity;
  const mid = roundingBoundary(r);
  const pixel = pixelTruncator(C, r, k);
  const prob = new Float32Array(C * N);
  const scaled = new Float64Array(renormalise ? C * N : 0);
  const total = new Float64Array(N);
  const bound = new Float64Array(N);
  const tail = new Float64Array(N);
  const max = new Float64Array(N);
  const decision = new Int8Array(N);
  const values = new Float32Array(C);
  const probs = new Float32Array(C);
  const floor = LOG_PROBABILITY_FLOOR;
  for (let b = 0; b < B; b++) {
    const at = b * C * N;
    // Each pixel's float32 probabilities (for this b, as rows) and their float64 total.
    if (renormalise) renormaliseRows(out, at, C, N, max, total, scaled, prob);
    else probabilityRows(out, at, C, N, total, prob);
    // From the total, the mass of the classes light enough to be cut all at once (tailDecision).
    for (let n = 0; n < N; n++) bound[n] = total[n] - mid + ORDER_MARGIN;
    tail.fill(0);
    for (let c = 0; c < C; c++) {
      for (let n = 0; n < N; n++) {
        const p = prob[c * N + n];
        if (p <= bound[n]) tail[n] += p;
      }
    }
    for (let n = 0; n < N; n++) {
      decision[n] = k >= C ? tailDecision(total[n] - mid, tail[n]) : -1;
      if (decision[n] !== -1) continue;
      // Undecided (top-k, or a tail that does not fit): the per-pixel truncation, given the probabilities.
      for (let c = 0; c < C; c++) {
        values[c] = out[at + c * N + n];
        probs[c] = prob[c * N + n];
      }
      const taken = pixel(values, probs);
      for (let c = 0; c < C; c++) if (taken[c] === 0) out[at + c * N + n] = -Infinity;
    }
    // The cut tails, and the clamp.
    for (let c = 0; c < C; c++) {
      const row = at + c * N;
      for (let n = 0; n < N; n++) {
        const v = out[row + n];
        out[row + n] = (decision[n] === 1 && prob[c * N + n] <= bound[n]) || !(v >= floor) ? floor : v;
      }
    }
  }
  return out;
}

/**
 * The guided combination u + s·(c − u) in float32, as `guide` computes it, for (2B, C, N) `src`, or
 * null when an element needs one of `guide`'s special cases or errors (a −inf in either half, scale
 * 0, a non-finite combination): the caller then runs `guide` itself. Not yet renormalised.
 */
function guidedRows(src: Float32Array, B: number, C: number, N: number, scale: number): Float32Array | null {
  const s = Math.fround(scale);
  const half = B * C * N;
  if (s === 0) return null;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const u = src[i];
    const c = src[half + i];
    // Both finite (a −inf is below every finite number; NaN and +inf were ruled out by the check).
    if (!(u > -Infinity && c > -Infinity)) return null;
    const v = Math.fround(u + Math.fround(s * Math.fround(c - u)));
    if (!(v < Infinity && v > -Infinity)) return null;
    out[i] = v;
  }
  return out;
}

/** Float32 probabilities p = fround(exp(x)) of the (C, N) block at `at` into `prob`, and each pixel's float64 total. */
function probabilityRows(out: Float32Array, at: number, C: number, N: number, total: Float64Array, prob: Float32Array): void {
  total.fill(0);
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let n = 0; n < N; n++) {
      const p = Math.fround(Math.exp(out[row + n]));
      prob[c * N + n] = p;
      total[n] += p;
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
 * x ← fround(x − lse) over the (C, N) block of finite values at `at`, lse = fround(max + log Σ exp(x −
 * max)) per pixel, the sum in class order (as `renormalise`, bit for bit); then, as
 * {@link probabilityRows}, p = fround(exp(x)) and the totals, without a second exponential per value:
 * exp(x_new) = exp(x − max)·exp(max − lse)·exp(δ), δ = x_new − (x − lse) the rounding of x_new
 * (|δ| ≤ 2^-24·|x_new|, exp(δ) ≈ 1 + δ + δ²/2). The estimate is within about 1e-15 of exp(x_new)
 * (relative; both exponentials are Math.exp's, within an ulp); where the float32 rounding of the
 * interval ±1e-12 around it is not one value, Math.exp decides, so p is always fround(Math.exp(x_new)).
 * `max`, `total`: N-long scratch; `scaled`: C·N.
 */
function renormaliseRows(out: Float32Array, at: number, C: number, N: number, max: Float64Array, total: Float64Array, scaled: Float64Array, prob: Float32Array): void {
  max.fill(-Infinity);
  total.fill(0);
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let n = 0; n < N; n++) if (out[row + n] > max[n]) max[n] = out[row + n];
  }
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let n = 0; n < N; n++) {
      const e = Math.exp(out[row + n] - max[n]);
      scaled[c * N + n] = e;
      total[n] += e; // Σ exp(x − max) for now
    }
  }
  // total ← exp(max − lse) (the factor from exp(x − max) to exp(x − lse)); max ← lse.
  for (let n = 0; n < N; n++) {
    const lse = Math.fround(max[n] + Math.log(total[n]));
    total[n] = Math.exp(max[n] - lse);
    max[n] = lse;
  }
  for (let c = 0; c < C; c++) {
    const row = at + c * N;
    for (let n = 0; n < N; n++) {
      const wide = out[row + n] - max[n];
      const x = Math.fround(wide);
      out[row + n] = x;
      const d = x - wide;
      prob[c * N + n] = float32Exp(scaled[c * N + n] * total[n] * (1 + d + 0.5 * d * d), x);
    }
  }
  total.fill(0);
  for (let c = 0; c < C; c++) for (let n = 0; n < N; n++) total[n] += prob[c * N + n];
}
