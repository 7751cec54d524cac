/**
 * The posterior in class-major order: the same numbers as the plain oracle (`oracles/posteriorPlain.ts`,
 * bit for bit: every pixel's normaliser is summed over the classes in the same order, and every value
 * comes from `pixelPosterior.ts`), computed with row-by-row, sequential passes instead of one strided
 * column per pixel, each pixel's bulk row values looked up once (`bulkRows`; x_t's own class takes the
 * "same" values, as `classRows` sorts it). `qPosterior` uses it: it writes the float32 result directly, without a float64
 * (B, K, N) array (at the ITHQ size 16 MB of output instead of 32 + 16; the time is the same, the
 * transcendentals dominate). The tests compare it with the plain version.
 */
import { bulkRows, classLogit, maskLogit, posteriorRows, type PosteriorTransitions } from "./pixelPosterior.js";

/**
 * @param logPX0 - log p(x_0 | x_t), shape (B, K − 1, N).
 * @param tokens - x_t, shape (B, N).
 * @returns log p(x_s | x_t), shape (B, K, N), rounded once to float32.
 *
 * @example
 * ```ts
 * declare const logPX0: Float32Array, tokens: Int32Array, transitions: PosteriorTransitions;
 * posteriorStructured(logPX0, tokens, 1, 4097, 1024, transitions); // Float32Array(4097 * 1024)
 * ```
 */
export function posteriorStructured(
  logPX0: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  transitions: PosteriorTransitions,
): Float32Array {
  const rows = posteriorRows(transitions);
  const out = new Float32Array(B * K * N);
  const mask = K - 1;
  const max = new Float64Array(N);
  const sum = new Float64Array(N);
  const S = new Float64Array(N);
  const bulkCum = new Float64Array(N);
  const bulkStep = new Float64Array(N);
  const r = { cum: 0, step: 0 };
  const { same } = rows.cumulative;
  const sameStep = rows.oneStep.same;
  for (let b = 0; b < B; b++) {
    const x = tokens.subarray(b * N, (b + 1) * N);
    for (let n = 0; n < N; n++) {
      bulkRows(rows, x[n] === mask, r);
      bulkCum[n] = r.cum;
      bulkStep[n] = r.step;
    }
    // Steps 1-2: S = logsumexp_c (y_c − cum_c), max-shifted, summed in class order.
    max.fill(-Infinity);
    for (let c = 0; c < K - 1; c++) {
      const row = (b * (K - 1) + c) * N;
      for (let n = 0; n < N; n++) {
        const q = logPX0[row + n] - (x[n] === c ? same : bulkCum[n]);
        if (q > max[n]) max[n] = q;
      }
    }
    sum.fill(0);
    for (let c = 0; c < K - 1; c++) {
      const row = (b * (K - 1) + c) * N;
      for (let n = 0; n < N; n++) sum[n] += Math.exp(logPX0[row + n] - (x[n] === c ? same : bulkCum[n]) - max[n]);
    }
    for (let n = 0; n < N; n++) S[n] = max[n] === -Infinity || max[n] === Infinity ? max[n] : max[n] + Math.log(sum[n]);
    // Steps 3-4, row by row.
    for (let c = 0; c < K - 1; c++) {
      const row = (b * (K - 1) + c) * N;
      const outRow = (b * K + c) * N;
      for (let n = 0; n < N; n++) {
        const own = x[n] === c;
        out[outRow + n] = classLogit(logPX0[row + n], own ? same : bulkCum[n], own ? sameStep : bulkStep[n], S[n], rows);
      }
    }
    const outRow = (b * K + mask) * N;
    for (let n = 0; n < N; n++) out[outRow + n] = maskLogit(x[n] === mask, S[n], rows);
  }
  return out;
}
