/**
 * The exact multi-step transition s → t (s < t) of the mask-and-replace process. Mask-and-replace
 * matrices compose in closed form: keeping a class through t − s steps has probability
 *   α_{s→t} = ᾱ_t / ᾱ_s,
 * staying unmasked has 1 − γ_{s→t} = (1 − γ̄_t)/(1 − γ̄_s), and the remaining mass spreads uniformly,
 *   β_{s→t} = (1 − α_{s→t} − γ_{s→t})/(K − 1),
 * with ᾱ_{−1} = 1, γ̄_{−1} = 0 for the clean sample (s = −1 gives the cumulative transition at t).
 * For s = t − 1 the reference's one-step tables are used as they are, so the posterior is the
 * reference's exactly. Logs are taken of float64 values and rounded once to float32, like the tables.
 */
import type { LogSchedule } from "../schedule/logSchedule.js";
import { cumulativeLogs, oneStepLogs, type TransitionLogs } from "./transitionRows.js";

/**
 * @param s - the earlier timestep, in [−1, t − 1].
 * @param t - the later timestep, in [0, T − 1].
 * @param K - classes, the mask included.
 *
 * @example
 * ```ts
 * jumpLogs(schedule, 10, 20, 4097); // (log α, log β, log γ) of the 10 → 20 transition
 * ```
 */
export function jumpLogs(schedule: LogSchedule, s: number, t: number, K: number): TransitionLogs {
  if (s === t - 1) return oneStepLogs(schedule, t);
  if (s === -1) return cumulativeLogs(schedule, t);
  const a = schedule.cumulativeAlpha[t] / schedule.cumulativeAlpha[s];
  const g = 1 - (1 - schedule.cumulativeGamma[t]) / (1 - schedule.cumulativeGamma[s]);
  // A composition of stochastic matrices: 1 − a − g ≥ 0 exactly; rounding may leave −1e-17.
  const b = Math.max(0, (1 - a - g) / (K - 1));
  return { a: Math.fround(Math.log(a)), b: Math.fround(Math.log(b)), c: Math.fround(Math.log(g)) };
}
