/**
 * Purity sampling ("Improved Vector Quantized Diffusion Models", arXiv 2205.16007): instead of drawing
 * every pixel from the posterior, reveal masked pixels in order of confidence. At a step towards
 * timestep s, as many masked positions are revealed as the schedule expects to be unmasked at s,
 * round(N·(1 − γ̄_s)); which ones is drawn with probability proportional to their purity
 * max_c p(x_0 = c | x_t) (without replacement: Gumbel-top-k on log purity), and each revealed pixel's
 * token is drawn from p(x_0 | x_t). Revealed tokens never change.
 */
import { logSumExpParts } from "../math/logSpace.js";
import { gumbelNoise } from "../random/gumbel.js";
import { inverseCdf } from "../random/inverseCdf.js";
import type { TorchGenerator } from "../random/torchGenerator.js";
import { uniform53 } from "../random/uniform53.js";

/**
 * @param logp - log p(x_0 | x_t), shape (B, K − 1, N) (after guidance and truncation).
 * @param x - x_t, shape (B, N); mask = K − 1.
 * @param targetUnmasked - unmasked pixels per image after the step.
 * @returns x_s, a new array: x_t with some masked pixels revealed.
 *
 * @example
 * ```ts
 * puritySample(logp, x, 2, 21, 256, 200, generator); // 200 of each image's 256 pixels unmasked
 * ```
 */
export function puritySample(
  logp: Float32Array,
  x: Int32Array,
  B: number,
  K: number,
  N: number,
  targetUnmasked: number,
  generator: TorchGenerator,
): Int32Array {
  const out = x.slice();
  const C = K - 1;
  const keys: { n: number; key: number; max: number; sum: number }[] = [];
  const parts = { max: 0, sum: 0 };
  const weights = new Float64Array(C);
  for (let b = 0; b < B; b++) {
    keys.length = 0;
    let unmasked = 0;
    for (let n = 0; n < N; n++) {
      if (x[b * N + n] !== K - 1) {
        unmasked++;
        continue;
      }
      // log purity = max_c log p_c − logsumexp_c log p_c = −log Σ_c exp(log p_c − max).
      logSumExpParts(logp, b * C * N + n, N, C, parts);
      keys.push({ n, key: -Math.log(parts.sum) + gumbelNoise(uniform53(generator)), max: parts.max, sum: parts.sum });
    }
    const reveal = Math.max(0, Math.min(keys.length, targetUnmasked - unmasked));
    keys.sort((a, c) => c.key - a.key || a.n - c.n);
    for (let j = 0; j < reveal; j++) {
      const { n, max, sum } = keys[j];
      // Inverse CDF of softmax(logp[b, :, n]) at a uniform.
      for (let c = 0; c < C; c++) weights[c] = Math.exp(logp[(b * C + c) * N + n] - max);
      out[b * N + n] = inverseCdf(weights, 0, C, uniform53(generator) * sum);
    }
  }
  return out;
}
