/**
 * Purity sampling ("Improved Vector Quantized Diffusion Models", arXiv 2205.16007): instead of drawing
 * every pixel from the posterior, reveal masked pixels in order of confidence. At a step towards
 * timestep s, as many masked positions are revealed as the schedule expects to be unmasked at s,
 * round(N·(1 − γ̄_s)); which ones is drawn with probability proportional to their purity
 * max_c p(x_0 = c | x_t) (without replacement: Gumbel-top-k on log purity), and each revealed pixel's
 * token is drawn from p(x_0 | x_t). Revealed tokens never change.
 */
import { gumbelNoise } from "../random/gumbel.js";
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
  for (let b = 0; b < B; b++) {
    keys.length = 0;
    let unmasked = 0;
    for (let n = 0; n < N; n++) {
      if (x[b * N + n] !== K - 1) {
        unmasked++;
        continue;
      }
      // log purity = max_c log p_c − logsumexp_c log p_c.
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, logp[(b * C + c) * N + n]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(logp[(b * C + c) * N + n] - m);
      keys.push({ n, key: -Math.log(z) + gumbelNoise(uniform53(generator)), max: m, sum: z });
    }
    const reveal = Math.max(0, Math.min(keys.length, targetUnmasked - unmasked));
    keys.sort((a, c) => c.key - a.key || a.n - c.n);
    for (let j = 0; j < reveal; j++) {
      const { n, max, sum } = keys[j];
      out[b * N + n] = drawClass(logp, b, C, N, n, max, sum, uniform53(generator));
    }
  }
  return out;
}

/** Inverse CDF of softmax(logp[b, :, n]) at u, given the column's maximum m and z = Σ exp(logp − m). */
function drawClass(logp: Float32Array, b: number, C: number, N: number, n: number, m: number, z: number, u: number): number {
  let target = u * z;
  let last = 0;
  for (let c = 0; c < C; c++) {
    const w = Math.exp(logp[(b * C + c) * N + n] - m);
    if (w > 0) last = c;
    if (target < w) return c;
    target -= w;
  }
  return last;
}
