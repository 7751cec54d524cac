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
 *
 * Only two values of each transition row occur per pixel (x_t's own class and the others; one when
 * x_t is the mask), which `PixelRows` names; the fused kernels rely on the same split.
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

/** The row values of one posterior, per kind of source class. */
export interface PixelRows {
  /** log q(x_t | x_0 = c) for c = x_t, c ≠ x_t (x_t not the mask), any c (x_t the mask). */
  readonly cumulative: { same: number; other: number; masked: number };
  /** log q(x_t | x_s = c), same split. */
  readonly oneStep: { same: number; other: number; masked: number };
  /** log ᾱ_s, log β̄_s, log γ̄_s. */
  readonly cumulativeAtS: TransitionLogs;
}

/** The row values of `transitions`, computed once per posterior. */
export function pixelRows(transitions: PosteriorTransitions): PixelRows {
  return {
    cumulative: rowValues(transitions.cumulativeAtT),
    oneStep: rowValues(transitions.stepSToT),
    cumulativeAtS: transitions.cumulativeAtS,
  };
}

/**
 * Step 3-4 for one class c' < K − 1: logaddexp((y − cumRow) − S + log ᾱ_s, log β̄_s) + oneStep + S,
 * with y = log p(x_0 = c'). The one place this formula is written.
 */
export function posteriorLogit(y: number, cumRow: number, oneStep: number, S: number, rows: PixelRows): number {
  return logAddExp(y - cumRow - S + rows.cumulativeAtS.a, rows.cumulativeAtS.b) + oneStep + S;
}

/** Step 3-4 for the mask class c' = K − 1: log γ̄_s + log q(x_t | x_s = mask) + S. */
export function posteriorMaskLogit(masked: boolean, S: number, rows: PixelRows): number {
  return rows.cumulativeAtS.c + (masked ? 0 : LOG_ONEHOT_FLOOR) + S;
}

/**
 * The posterior column of one pixel.
 *
 * @param y - log p(x_0 = c) for c < K − 1 at `y[offset + c·stride]`.
 * @param x - x_t, in [0, K − 1].
 * @param out - receives the K logits at `out[outOffset + c'·outStride]`.
 * @param q - scratch of length K − 1.
 * @returns S, the normaliser of step 2.
 */
export function posteriorColumn(
  y: ArrayLike<number>,
  offset: number,
  stride: number,
  x: number,
  K: number,
  rows: PixelRows,
  out: Float64Array,
  outOffset: number,
  outStride: number,
  q: Float64Array,
): number {
  const mask = K - 1;
  const masked = x === mask;
  const { cumulative, oneStep } = rows;
  for (let c = 0; c < K - 1; c++) {
    const cumRow = masked ? cumulative.masked : c === x ? cumulative.same : cumulative.other;
    q[c] = y[offset + c * stride] - cumRow;
  }
  const S = logSumExpStrided(q, 0, 1, K - 1);
  for (let c = 0; c < K - 1; c++) {
    const cumRow = masked ? cumulative.masked : c === x ? cumulative.same : cumulative.other;
    const step = masked ? oneStep.masked : c === x ? oneStep.same : oneStep.other;
    out[outOffset + c * outStride] = posteriorLogit(y[offset + c * stride], cumRow, step, S, rows);
  }
  out[outOffset + mask * outStride] = posteriorMaskLogit(masked, S, rows);
  return S;
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
  const rows = pixelRows(transitions);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      posteriorColumn(logPX0, b * (K - 1) * N + n, N, tokens[b * N + n], K, rows, out, b * K * N + n, N, q);
    }
  }
  return out;
}
