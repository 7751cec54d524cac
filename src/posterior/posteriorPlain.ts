/**
 * The reverse-process posterior p(x_{s} | x_t), s < t, in its plain form: one readable loop per
 * pixel, float64 throughout, no rounding in between. It is the specification the fused kernels are
 * tested against (`../kernels`), and what `qPosterior` returns (rounded once to float32).
 *
 * Derivation (paper eq. 11 restated with eq. 5, the reference's `q_posterior`). With p(x_0) the
 * model's prediction over the K - 1 real classes,
 *   p(x_s | x_t) = Σ_{x_0} q(x_t | x_s) q(x_s | x_0) p(x_0) / q(x_t | x_0)
 *              = q(x_t | x_s) · Σ_{x_0} q(x_s | x_0) · [p(x_0) / q(x_t | x_0)].
 * Per pixel, in log space (c ranges over x_0's classes, c' over x_s's K classes):
 *   1. q_c  = log p(x_0 = c) − log q(x_t | x_0 = c)           (the cumulative row at t)
 *   2. S    = logsumexp_c q_c                                 (normaliser, kept aside)
 *   3. r_c' = log Σ_c q(x_s = c' | x_0 = c) · exp(q_c − S). The cumulative matrix at s maps the
 *      distribution exp(q − S) to ᾱ_s·exp(q_c' − S) + β̄_s for c' < K − 1 (its mass is 1) and to γ̄_s
 *      for the mask: r_c' = logaddexp(q_c' − S + log ᾱ_s, log β̄_s), r_{K−1} = log γ̄_s.
 *   4. out_c' = r_c' + log q(x_t | x_s = c') + S               (the one-step row, t-1 → t)
 * The reference has s = t − 1, the cumulative tables at index t − 1 (index T, the identity, when
 * t = 0) and the one-step tables at t.
 */
import { logAddExp, logSumExpStrided, LOG_ONEHOT_FLOOR } from "../math/logSpace.js";
import { rowValues, type TransitionLogs } from "../transitions/transitionRows.js";

/** The three transitions a posterior needs. */
export interface PosteriorTransitions {
  /** 0 → t: q(x_t | x_0). */
  readonly cumulativeAtT: TransitionLogs;
  /** 0 → s: q(x_s | x_0). */
  readonly cumulativeAtS: TransitionLogs;
  /** s → t: q(x_t | x_s). */
  readonly stepSToT: TransitionLogs;
}

/**
 * @param logPX0 - log p(x_0 | x_t), shape (B, K - 1, N).
 * @param tokens - x_t, shape (B, N), values in [0, K - 1].
 * @returns log p(x_s | x_t) (unnormalised as in the reference), shape (B, K, N), float64.
 *
 * @example
 * ```ts
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
  const cumT = rowValues(transitions.cumulativeAtT);
  const step = rowValues(transitions.stepSToT);
  const { a: cumSA, b: cumSB, c: cumSC } = transitions.cumulativeAtS;
  const mask = K - 1;
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const x = tokens[b * N + n];
      // 1. q_c = log p(x_0 = c) − log q(x_t | x_0 = c)
      for (let c = 0; c < K - 1; c++) {
        const cumRow = x === mask ? cumT.masked : c === x ? cumT.same : cumT.other;
        q[c] = logPX0[(b * (K - 1) + c) * N + n] - cumRow;
      }
      // 2. S = logsumexp_c q_c
      const S = logSumExpStrided(q, 0, 1, K - 1);
      // 3-4. out_c = logaddexp(q_c − S + log ᾱ_s, log β̄_s) + log q(x_t | x_s = c) + S
      for (let c = 0; c < K - 1; c++) {
        const oneStep = x === mask ? step.masked : c === x ? step.same : step.other;
        out[(b * K + c) * N + n] = logAddExp(q[c] - S + cumSA, cumSB) + oneStep + S;
      }
      out[(b * K + mask) * N + n] = cumSC + (x === mask ? 0 : LOG_ONEHOT_FLOOR) + S;
    }
  }
  return out;
}
