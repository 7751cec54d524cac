/**
 * One pixel's reverse-process posterior p(x_s | x_t), s < t: the one module where its formulas are
 * written. The plain paths (`posteriorColumn` below, `posteriorStructured.ts`, the oracles) and the
 * fused kernels (`../kernels`) all take their numbers from here.
 *
 * Derivation (paper eq. 11 restated with eq. 5, the reference's `q_posterior`). With p(x_0) the
 * model's prediction over the K − 1 real classes,
 *   p(x_s | x_t) = Σ_{x_0} q(x_t | x_s) q(x_s | x_0) p(x_0) / q(x_t | x_0)
 *              = q(x_t | x_s) · Σ_{x_0} q(x_s | x_0) · [p(x_0) / q(x_t | x_0)].
 * Per pixel, in log space (c ranges over x_0's classes, c' over x_s's K classes), y_c = log p(x_0 = c):
 *   1. q_c  = y_c − log q(x_t | x_0 = c)                     (the cumulative row at t)
 *   2. S    = logsumexp_c q_c                                 (normaliser, kept aside)
 *   3. r_c' = log Σ_c q(x_s = c' | x_0 = c) · exp(q_c − S). The cumulative matrix at s maps the
 *      distribution exp(q − S) to ᾱ_s·exp(q_c' − S) + β̄_s for c' < K − 1 (its mass is 1) and to γ̄_s
 *      for the mask: r_c' = logaddexp(q_c' − S + log ᾱ_s, log β̄_s), r_{K−1} = log γ̄_s.
 *   4. out_c' = r_c' + log q(x_t | x_s = c') + S               (the one-step row, s → t)
 * The reference has s = t − 1, the cumulative tables at index t − 1 (index T, the identity, when
 * t = 0) and the one-step tables at t.
 *
 * Rows by kind of class. A transition row q(x_t | · = c) takes one value at x_t's own class ("same"),
 * one at every other class ("other"), and one at every class when x_t is the mask ("masked"):
 * {@link PosteriorRows} holds these, and {@link classRows} is where a class is sorted into its kind.
 *
 * The bulk's affine form. Every class c other than x_t's own and the mask (the "bulk", K − 2 or
 * K − 1 classes) shares one cumulative and one one-step value, so steps 1-4 make its logit
 *   out_c = logaddexp(y_c + shift, floor),   shift = log ᾱ_s − cum + step,   floor = log β̄_s + step + S,
 * one increasing function of y_c ({@link bulkForm}). In probability space, relative to e^S, its
 * weight is affine in e^{y_c}: e^{out_c − S} = e^{shift − S}·e^{y_c} + e^{floor − S}. The reference
 * step's screen bounds logits with it (logaddexp(u, v) ≤ max(u, v) + ln 2); fast mode sums weights
 * with it. And S itself splits into the bulk's sum and x_t's own term ({@link normaliserFromBulk}).
 */
import { logAddExp, logSumExpStrided, LOG_ONEHOT_FLOOR } from "../math/logSpace.js";
import type { LogSchedule } from "../schedule/logSchedule.js";
import { jumpLogs } from "../transitions/jump.js";
import { cumulativeLogs, rowValues, type TransitionLogs } from "../transitions/transitionRows.js";

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
 * The transitions of the posterior p(x_s | x_t) from a schedule's log tables: 0 → t, 0 → s (table
 * index T, the identity, for s = −1) and s → t (one step when s = t − 1, else the exact jump).
 *
 * @example
 * ```ts
 * declare const schedule: LogSchedule;
 * const transitions = posteriorTransitions(schedule, 50, 49, 4097);
 * ```
 */
export function posteriorTransitions(schedule: LogSchedule, t: number, s: number, K: number): PosteriorTransitions {
  const T = schedule.logAt.length;
  return {
    cumulativeAtT: cumulativeLogs(schedule, t),
    cumulativeAtS: cumulativeLogs(schedule, s < 0 ? T : s),
    stepSToT: jumpLogs(schedule, s, t, K),
  };
}

/** A transition row's values by kind of source class (see the file comment). */
export interface RowValues {
  /** At x_t's own class (x_t not the mask). */
  readonly same: number;
  /** At any other real class (x_t not the mask). */
  readonly other: number;
  /** At every class, when x_t is the mask. */
  readonly masked: number;
}

/** What one posterior needs per pixel, computed once per step. */
export interface PosteriorRows {
  /** log q(x_t | x_0 = c), by kind of c. */
  readonly cumulative: RowValues;
  /** log q(x_t | x_s = c), by kind of c. */
  readonly oneStep: RowValues;
  /** log ᾱ_s, log β̄_s, log γ̄_s: the cumulative matrix at s. */
  readonly logAlphaS: number;
  readonly logBetaS: number;
  readonly logGammaS: number;
}

/**
 * The row values of `transitions`, computed once per posterior.
 *
 * @example
 * ```ts
 * declare const transitions: PosteriorTransitions;
 * const rows = posteriorRows(transitions);
 * ```
 */
export function posteriorRows(transitions: PosteriorTransitions): PosteriorRows {
  return {
    cumulative: rowValues(transitions.cumulativeAtT),
    oneStep: rowValues(transitions.stepSToT),
    logAlphaS: transitions.cumulativeAtS.a,
    logBetaS: transitions.cumulativeAtS.b,
    logGammaS: transitions.cumulativeAtS.c,
  };
}

/**
 * The bulk's row values for a pixel (every class but x_t's own; all of them when x_t is the mask):
 * writes `cum` (log q(x_t | x_0 = c)) and `step` (log q(x_t | x_s = c)) into `out`.
 */
export function bulkRows(rows: PosteriorRows, masked: boolean, out: { cum: number; step: number }): void {
  out.cum = masked ? rows.cumulative.masked : rows.cumulative.other;
  out.step = masked ? rows.oneStep.masked : rows.oneStep.other;
}

/**
 * Which row values apply to class c < K − 1 of a pixel whose token is x: x_t's own class has the
 * "same" values, every other class the bulk's ({@link bulkRows}). With `bulkRows`, the one place a
 * class is sorted into same / other / masked.
 */
export function classRows(rows: PosteriorRows, x: number, c: number, K: number, out: { cum: number; step: number }): void {
  if (c === x) {
    out.cum = rows.cumulative.same;
    out.step = rows.oneStep.same;
  } else bulkRows(rows, x === K - 1, out);
}

/** Steps 3-4 for a class c' < K − 1 with y = log p(x_0 = c') and its row values `cum`, `step`. */
export function classLogit(y: number, cum: number, step: number, S: number, rows: PosteriorRows): number {
  return logAddExp(y - cum - S + rows.logAlphaS, rows.logBetaS) + step + S;
}

/** Steps 3-4 for the mask class c' = K − 1: log γ̄_s + log q(x_t | x_s = mask) + S. */
export function maskLogit(masked: boolean, S: number, rows: PosteriorRows): number {
  return rows.logGammaS + (masked ? 0 : LOG_ONEHOT_FLOOR) + S;
}

/** The bulk's affine form: out_c = logaddexp(y_c + shift, floor) (see the file comment). */
export interface BulkForm {
  shift: number;
  floor: number;
}

/** Writes the bulk's `shift` and `floor` for a pixel (masked or not) with normaliser S into `out`. */
export function bulkForm(masked: boolean, S: number, rows: PosteriorRows, out: BulkForm): void {
  bulkRows(rows, masked, bulkScratch);
  out.shift = rows.logAlphaS - bulkScratch.cum + bulkScratch.step;
  out.floor = rows.logBetaS + bulkScratch.step + S;
}

/** bulkForm's scratch (every call is synchronous and overwrites it first). */
const bulkScratch = { cum: 0, step: 0 };

/**
 * S of step 2 from the bulk's sum, as the kernels get it: with m the largest y and Z = Σ_bulk e^{y_c − m},
 *   S = m − cum_masked + log Z                               (x_t the mask: every class is bulk)
 *   S = logaddexp(m − cum_other + log Z, y_x − cum_same)       (x_t = x, a real class)
 *
 * @param yx - y at x_t's class (ignored when x_t is the mask).
 */
export function normaliserFromBulk(masked: boolean, m: number, logZ: number, yx: number, rows: PosteriorRows): number {
  if (masked) return m - rows.cumulative.masked + logZ;
  return logAddExp(m - rows.cumulative.other + logZ, yx - rows.cumulative.same);
}

/** A strided view: element i is `data[offset + i·stride]`. */
export interface Strided<A> {
  readonly data: A;
  readonly offset: number;
  readonly stride: number;
}

/**
 * The posterior column of one pixel, plainly: steps 1-4 for every class.
 *
 * @param y - log p(x_0 = c) for the K − 1 classes c.
 * @param x - x_t, in [0, K − 1].
 * @param out - receives the K logits of x_s's classes.
 * @param q - scratch of length K − 1.
 * @returns S, the normaliser of step 2.
 *
 * @example
 * ```ts
 * declare const rows: PosteriorRows;
 * const logits = new Float64Array(5);
 * posteriorColumn({ data: new Float32Array(4), offset: 0, stride: 1 }, 4, 5, rows, { data: logits, offset: 0, stride: 1 }, new Float64Array(4));
 * ```
 */
export function posteriorColumn(
  y: Strided<ArrayLike<number>>,
  x: number,
  K: number,
  rows: PosteriorRows,
  out: Strided<Float64Array>,
  q: Float64Array,
): number {
  const r = { cum: 0, step: 0 };
  const at = (c: number) => y.data[y.offset + c * y.stride];
  for (let c = 0; c < K - 1; c++) {
    classRows(rows, x, c, K, r);
    q[c] = at(c) - r.cum;
  }
  const S = logSumExpStrided(q, 0, 1, K - 1);
  for (let c = 0; c < K - 1; c++) {
    classRows(rows, x, c, K, r);
    out.data[out.offset + c * out.stride] = classLogit(at(c), r.cum, r.step, S, rows);
  }
  out.data[out.offset + (K - 1) * out.stride] = maskLogit(x === K - 1, S, rows);
  return S;
}
