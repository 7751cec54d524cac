/**
 * Rows of the forward transition matrices for observed tokens x_t (the reference's
 * `log_Q_t_transitioning_to_known_class`).
 *
 * The mask-and-replace matrix (paper eq. 7) moves class c to x_t with probability
 *   α + β  if x_t = c,   β  if x_t ≠ c is not the mask,   γ  if x_t is the mask,
 * and the mask class stays the mask. For a pixel with token x_t, the row "q(x_t | x = c)" over the
 * source classes c is therefore, in log space, logaddexp(logOnehot(x_t)[c] + log α, log β), replaced by
 * log γ where x_t is the mask. The one-step version (t-1 → t) has one more row, the source being the
 * mask: log 1 = 0 if x_t is the mask, log 0 (the one-hot floor) otherwise. The cumulative version
 * (0 → t) has no such row, since x_0 is never masked.
 */
import type { LogSchedule } from "../schedule/logSchedule.js";
import { logAddExp, LOG_ONEHOT_FLOOR } from "../math/logSpace.js";

/** (log α, log β, log γ) of one transition. */
export interface TransitionLogs {
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The one-step (t-1 → t) logs at table index t. */
export function oneStepLogs(schedule: LogSchedule, t: number): TransitionLogs {
  return { a: schedule.logAt[t], b: schedule.logBt[t], c: schedule.logCt[t] };
}

/** The cumulative (0 → t) logs at table index t (t = T: the identity). */
export function cumulativeLogs(schedule: LogSchedule, t: number): TransitionLogs {
  return { a: schedule.logCumprodAt[t], b: schedule.logCumprodBt[t], c: schedule.logCumprodCt[t] };
}

/**
 * The two values a transition row takes for a non-mask token x_t: at the token's own class
 * (`same` = logaddexp(log α, log β)) and at every other class (`other` = logaddexp(L + log α, log β),
 * L the one-hot floor). For a mask token every source class has log γ.
 *
 * @example
 * ```ts
 * const r = rowValues({ a: Math.log(0.9), b: Math.log(0.05), c: Math.log(0.05) });
 * Math.exp(r.same); // 0.95
 * ```
 */
export function rowValues(logs: TransitionLogs): { same: number; other: number; masked: number } {
  return {
    same: logAddExp(0 + logs.a, logs.b),
    other: logAddExp(LOG_ONEHOT_FLOOR + logs.a, logs.b),
    masked: logs.c,
  };
}

/**
 * Transition rows from given log one-hot vectors, in float64, as the reference computes them.
 *
 * @param logOnehot - log one-hot of x_t, shape (B, K, N).
 * @param tokens - x_t, shape (B, N).
 * @param cumulative - rows of the 0 → t matrix (K - 1 rows) or the t-1 → t matrix (K rows).
 * @returns rows, shape (B, K - 1, N) when cumulative, else (B, K, N).
 */
export function transitionRowsFromOnehot(
  logOnehot: Float32Array,
  tokens: Int32Array,
  B: number,
  K: number,
  N: number,
  logs: TransitionLogs,
  cumulative: boolean,
): Float64Array {
  const R = cumulative ? K - 1 : K;
  const out = new Float64Array(B * R * N);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < K - 1; c++) {
      for (let n = 0; n < N; n++) {
        const masked = tokens[b * N + n] === K - 1;
        out[(b * R + c) * N + n] = masked ? logs.c : logAddExp(logOnehot[(b * K + c) * N + n] + logs.a, logs.b);
      }
    }
    if (!cumulative) {
      for (let n = 0; n < N; n++) out[(b * R + K - 1) * N + n] = logOnehot[(b * K + K - 1) * N + n];
    }
  }
  return out;
}
