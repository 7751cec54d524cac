/**
 * Classifier-free guidance as the reference pipeline (diffusers' `VQDiffusionPipeline`) applies it to
 * log p(x_0 | x_t): out = uncond + s·(cond − uncond), renormalised over the class axis with
 * log-sum-exp. Arithmetic rounds to float32 after each operation, as PyTorch's float32 tensors do.
 * Log-zeros are handled where the reference's arithmetic would give NaN: a class the conditional half
 * rules out (−inf) stays ruled out; a class only the unconditional half rules out is an error.
 */
import { argumentError, argumentErrorText } from "../errors.js";
import type { Tensor } from "../tensor/types.js";
import { formatDims } from "../tensor/validate.js";

/**
 * @param output - the denoiser's output for the doubled batch, shape (2B, K − 1, N):
 *   [unconditional; conditional].
 * @param scale - the guidance scale s (> 1 to guide; 1 returns the conditional half renormalised).
 * @returns log-probabilities, shape (B, K − 1, N), each pixel normalised.
 *
 * @example
 * ```ts
 * const guided = classifierFreeGuidance(denoiserOutput, 5); // (2B, K-1, N) → (B, K-1, N)
 * ```
 */
export function classifierFreeGuidance(output: Tensor<Float32Array>, scale: number): Tensor<Float32Array> {
  if (typeof scale !== "number" || !Number.isFinite(scale)) throw argumentError("scale", "a finite number", scale);
  const [B2, C, N] = output.dims;
  if (output.dims.length !== 3 || B2 % 2 !== 0) {
    throw argumentErrorText("output.dims", "[2B, K-1, N] (unconditional and conditional halves)", formatDims(output.dims));
  }
  const B = B2 / 2;
  const s = Math.fround(scale);
  const src = output.data;
  const out = new Float32Array(B * C * N);
  const half = B * C * N;
  for (let i = 0; i < half; i++) {
    const u = src[i];
    const c = src[half + i];
    if (c === -Infinity && s > 0) {
      // p_c = 0: the guided p_u^(1−s)·p_c^s is 0 (the reference would compute −inf − (−inf) = NaN).
      out[i] = -Infinity;
    } else if (u === -Infinity && c !== -Infinity && s !== 1) {
      const n = i % N;
      const cls = Math.floor(i / N) % C;
      throw argumentErrorText(
        "output",
        "an unconditional half that is finite wherever the conditional half is (guidance divides by it)",
        `-inf at batch ${Math.floor(i / (C * N))}, class ${cls}, pixel ${n} where the conditional is ${c}`,
      );
    } else out[i] = Math.fround(u + Math.fround(s * Math.fround(c - u)));
  }
  renormalise(out, B, C, N);
  return { data: out, dims: [B, C, N] };
}

/** x ← x − logsumexp over the class axis, in place, for (B, C, N) data (float64 sum, float32 result). */
export function renormalise(data: Float32Array, B: number, C: number, N: number): void {
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const base = b * C * N + n;
      let m = -Infinity;
      for (let c = 0; c < C; c++) if (data[base + c * N] > m) m = data[base + c * N];
      if (m === -Infinity || m === Infinity || m !== m) continue;
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(data[base + c * N] - m);
      const lse = Math.fround(m + Math.log(sum));
      for (let c = 0; c < C; c++) data[base + c * N] = Math.fround(data[base + c * N] - lse);
    }
  }
}
