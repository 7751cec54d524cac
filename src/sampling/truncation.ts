/**
 * Truncation sampling as the reference pipeline's `truncate`: per pixel, sort the classes by
 * probability, keep the most probable ones while the cumulative probability before them is below the
 * rate (always the top one), and give the rest log 0. Then `clampLogProbabilities` replaces every
 * value below −70 (−inf included) by −70, as the pipeline does before the step.
 */
import { argumentError } from "../errors.js";
import type { Tensor } from "../tensor/types.js";

/**
 * @param logp - log p(x_0 | x_t), shape (B, C, N); not modified.
 * @param rate - in (0, 1]; 1 keeps every class whose preceding cumulative probability is below 1.
 * @returns a new tensor of the same shape, truncated classes at −inf.
 *
 * @example
 * ```ts
 * truncateLogProbabilities(logp, 0.9); // keeps the top classes covering 90% of each pixel's mass
 * ```
 */
export function truncateLogProbabilities(logp: Tensor<Float32Array>, rate: number): Tensor<Float32Array> {
  if (typeof rate !== "number" || !(rate > 0 && rate <= 1)) throw argumentError("truncationRate", "a number in (0, 1]", rate);
  const [B, C, N] = logp.dims;
  const src = logp.data;
  const out = src.slice();
  const order = new Int32Array(C);
  const values = new Float32Array(C);
  const r = Math.fround(rate);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const base = b * C * N + n;
      for (let c = 0; c < C; c++) {
        order[c] = c;
        values[c] = src[base + c * N];
      }
      // Descending by value; equal values in class order.
      order.sort((i, j) => values[j] - values[i] || i - j);
      // Cumulative sums accumulate in float64 and round to float32, as PyTorch's CPU cumsum.
      let cum = 0;
      for (let k = 0; k < C; k++) {
        const c = order[k];
        const keep = k === 0 || Math.fround(cum) < r;
        cum += Math.fround(Math.exp(values[c]));
        if (!keep) out[base + c * N] = -Infinity;
      }
    }
  }
  return { data: out, dims: [B, C, N] };
}

/** The pipeline's `clamp(-70)`: values below −70 (−inf included) become −70; a new array. */
export function clampLogProbabilities(logp: Tensor<Float32Array>, min = -70): Tensor<Float32Array> {
  const out = logp.data.slice();
  for (let i = 0; i < out.length; i++) if (out[i] < min) out[i] = min;
  return { data: out, dims: [...logp.dims] };
}
