/**
 * The noise schedule of VQ-Diffusion's mask-and-replace forward process (paper, eq. 7-8), as the
 * reference computes it: every quantity in float64, then `log`, then one rounding to float32.
 *
 * With T = numTrainTimesteps and K = numVecClasses (mask class K - 1):
 *   ᾱ_i = alphaCumStart + i/(T-1)·(alphaCumEnd − alphaCumStart),   i = 0 … T-1
 *   γ̄_i = gammaCumStart + i/(T-1)·(gammaCumEnd − gammaCumStart)
 *   α_i = ᾱ_i / ᾱ_{i-1},   1 − γ_i = (1 − γ̄_i)/(1 − γ̄_{i-1}),   with ᾱ_{-1} = 1, γ̄_{-1} = 0
 *   β = (1 − α − γ)/(K − 1)   (one-step and cumulative alike)
 * A token keeps its class with probability α + β, moves to each other class with β, and is masked
 * with γ. The cumulative tables get one more entry at index T (ᾱ = 1, γ̄ = 0, β̄ = 0): the identity
 * transition, which the posterior uses for "t − 1 = −1".
 */
import { argumentErrorText } from "../errors.js";
import type { VQDiffusionSchedulerConfig } from "../config/schedulerConfig.js";

/** The six log tables. One-step tables have T entries; cumulative ones T + 1. */
export interface LogSchedule {
  /** log α_t, shape (T). */
  readonly logAt: Float32Array;
  /** log β_t, shape (T). */
  readonly logBt: Float32Array;
  /** log γ_t, shape (T). */
  readonly logCt: Float32Array;
  /** log ᾱ_t, shape (T + 1); entry T is log 1 = 0. */
  readonly logCumprodAt: Float32Array;
  /** log β̄_t, shape (T + 1); entry T is log 0 = -inf. */
  readonly logCumprodBt: Float32Array;
  /** log γ̄_t, shape (T + 1); entry T is log 0 = -inf. */
  readonly logCumprodCt: Float32Array;
  /** ᾱ_t and γ̄_t in float64 before the logs, shape (T + 1) (index T: 1 and 0): for jumps and noising. */
  readonly cumulativeAlpha: Float64Array;
  readonly cumulativeGamma: Float64Array;
}

/**
 * Computes the log tables of a resolved config and checks that every one-step and cumulative α, β, γ
 * lies in [0, 1] (where the reference would silently take the log of a negative number).
 *
 * @example
 * ```ts
 * const s = computeLogSchedule(resolveConfig({ numVecClasses: 5, numTrainTimesteps: 10 }));
 * s.logCumprodAt.length; // 11
 * ```
 */
export function computeLogSchedule(config: VQDiffusionSchedulerConfig): LogSchedule {
  const T = config.numTrainTimesteps;
  const K = config.numVecClasses;
  const att = new Float64Array(T + 1);
  const ctt = new Float64Array(T + 1);
  const at = new Float64Array(T);
  const ct = new Float64Array(T);
  const bt = new Float64Array(T);
  const btt = new Float64Array(T + 1);
  for (let i = 0; i < T; i++) {
    // Same operation order as numpy's `np.arange(0, T) / (T - 1) * (end - start) + start`.
    att[i] = (i / (T - 1)) * (config.alphaCumEnd - config.alphaCumStart) + config.alphaCumStart;
    ctt[i] = (i / (T - 1)) * (config.gammaCumEnd - config.gammaCumStart) + config.gammaCumStart;
  }
  for (let i = 0; i < T; i++) {
    at[i] = att[i] / (i === 0 ? 1 : att[i - 1]);
    ct[i] = 1 - (1 - ctt[i]) / (1 - (i === 0 ? 0 : ctt[i - 1]));
    bt[i] = (1 - at[i] - ct[i]) / (K - 1);
    btt[i] = (1 - att[i] - ctt[i]) / (K - 1);
  }
  att[T] = 1;
  ctt[T] = 0;
  btt[T] = 0;
  // β = (1 − α − γ)/(K − 1) is exactly 0 where α + γ = 1 exactly (e.g. alphaCumEnd = 0, gammaCumEnd = 1);
  // float64 leaves a residue of a few ulps of 1 there, of either sign: such a residue is that 0.
  for (const table of [bt, btt]) for (let i = 0; i < table.length; i++) if (Math.abs(table[i]) <= 8 * Number.EPSILON) table[i] = 0;
  for (let i = 0; i < T; i++) {
    if (ctt[i] > 0) continue;
    throw argumentErrorText(
      "gammaCumStart, gammaCumEnd",
      "γ̄ > 0 at every step (the chain starts from masked tokens, so a masked token must have non-zero probability at every timestep)",
      `γ̄ = ${ctt[i]} at step ${i} from ${JSON.stringify({ gammaCumStart: config.gammaCumStart, gammaCumEnd: config.gammaCumEnd })}`,
    );
  }
  checkProbabilities(config, { "one-step α": at, "one-step β": bt, "one-step γ": ct, "ᾱ": att, "β̄": btt, "γ̄": ctt });
  return {
    logAt: logFloat32(at),
    logBt: logFloat32(bt),
    logCt: logFloat32(ct),
    logCumprodAt: logFloat32(att),
    logCumprodBt: logFloat32(btt),
    logCumprodCt: logFloat32(ctt),
    cumulativeAlpha: att,
    cumulativeGamma: ctt,
  };
}

function logFloat32(values: Float64Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.log(values[i]);
  return out;
}

function checkProbabilities(config: VQDiffusionSchedulerConfig, tables: Record<string, Float64Array>): void {
  for (const [name, values] of Object.entries(tables)) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v >= 0 && v <= 1) continue;
      const hint = name.includes("β") ? " (α + γ > 1 there)" : name.includes("α") && v > 1 ? " (ᾱ rises there)" : "";
      throw argumentErrorText(
        "alphaCumStart, alphaCumEnd, gammaCumStart, gammaCumEnd",
        "a schedule whose α, β and γ stay in [0, 1] at every step",
        `${name} = ${v} at step ${i}${hint} from ${JSON.stringify({
          alphaCumStart: config.alphaCumStart,
          alphaCumEnd: config.alphaCumEnd,
          gammaCumStart: config.gammaCumStart,
          gammaCumEnd: config.gammaCumEnd,
        })}`,
      );
    }
  }
}
