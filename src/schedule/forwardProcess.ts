/**
 * The forward process q(x_t | x_0), sampled: each pixel independently masked with probability γ̄_t,
 * kept with ᾱ_t, or (with the remaining 1 − ᾱ_t − γ̄_t = (K − 1)·β̄_t) replaced by a class drawn
 * uniformly from the K − 1 real ones, its own included. So a pixel keeps its class with
 * ᾱ_t + β̄_t and moves to each other class with β̄_t, as the transition matrix says.
 */
import { uniform53 } from "../random/uniform53.js";
import type { TorchGenerator } from "../random/torchGenerator.js";

/**
 * @param x - x_0 tokens (any shape), in [0, K − 1]; mask tokens stay masked.
 * @param alphaBar - ᾱ_t; @param gammaBar - γ̄_t (float64 schedule values).
 * @returns x_t, a new array. One 53-bit uniform (two generator draws) per token, in order.
 *
 * @example
 * ```ts
 * addNoiseTokens(Int32Array.of(3, 1), 5, 0.5, 0.3, new TorchGenerator().manualSeed(0));
 * ```
 */
export function addNoiseTokens(x: Int32Array, K: number, alphaBar: number, gammaBar: number, generator: TorchGenerator): Int32Array {
  const out = new Int32Array(x.length);
  const replace = 1 - alphaBar - gammaBar;
  for (let i = 0; i < x.length; i++) {
    const u = uniform53(generator);
    if (x[i] === K - 1 || u < gammaBar) out[i] = K - 1;
    else if (u < gammaBar + alphaBar || replace <= 0) out[i] = x[i];
    else out[i] = Math.min(K - 2, Math.floor(((u - gammaBar - alphaBar) / replace) * (K - 1)));
  }
  return out;
}
