/**
 * The posterior p(x_s | x_t) of a whole batch, plainly: one column per pixel (`posteriorColumn`),
 * float64 throughout, no rounding in between. An oracle: the tests and the bench compare the fused
 * kernels and `qPosterior` (`posteriorStructured.ts`) with it. Built, not published (package.json
 * leaves `dist/oracles` out).
 */
import { posteriorColumn, posteriorRows, type PosteriorTransitions } from "../posterior/pixelPosterior.js";

/**
 * @param logPX0 - log p(x_0 | x_t), shape (B, K − 1, N).
 * @param tokens - x_t, shape (B, N), values in [0, K − 1].
 * @returns log p(x_s | x_t) (unnormalised as in the reference), shape (B, K, N), float64.
 *
 * @example
 * ```ts
 * declare const logPX0: Float32Array, tokens: Int32Array, transitions: PosteriorTransitions;
 * const out = posteriorPlain(logPX0, tokens, 2, 5, 7, transitions); // Float64Array(2 * 5 * 7)
 * ```
 */
export function posteriorPlain(
  logPX0: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  transitions: PosteriorTransitions,
): Float64Array {
  const out = new Float64Array(B * K * N);
  const q = new Float64Array(K - 1);
  const rows = posteriorRows(transitions);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const y = { data: logPX0, offset: b * (K - 1) * N + n, stride: N };
      posteriorColumn(y, tokens[b * N + n], K, rows, { data: out, offset: b * K * N + n, stride: N }, q);
    }
  }
  return out;
}
