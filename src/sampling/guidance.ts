/**
 * Classifier-free guidance as the reference pipeline (diffusers' `VQDiffusionPipeline`) applies it to
 * log p(x_0 | x_t): out = uncond + s·(cond − uncond), renormalised over the class axis with
 * log-sum-exp. Arithmetic rounds to float32 after each operation, as PyTorch's float32 tensors do.
 * Log-zeros are handled where the reference's arithmetic would give NaN: a class the conditional half
 * rules out (−inf) stays ruled out; a class only the unconditional half rules out is an error.
 */
import { argumentError, argumentErrorText } from "../errors.js";
import { logSumExpStrided } from "../math/logSpace.js";
import { checkLogProbabilityTensor } from "../tensor/checkLogProbabilities.js";
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
  if (typeof scale !== "number" || !Number.isFinite(scale) || scale < 0) throw argumentError("scale", "a finite number >= 0", scale);
  const { B: B2, C, N, data: src } = checkLogProbabilityTensor("output", output);
  if (B2 % 2 !== 0) {
    throw argumentErrorText("output.dims", "[2B, K-1, N] (unconditional and conditional halves)", formatDims(output.dims));
  }
  return { data: guide(src, B2 / 2, C, N, scale), dims: [B2 / 2, C, N] };
}

/**
 * Guidance on data already checked (the sampler checks its denoiser's output once): `src` is
 * (2B, C, N) log-probabilities, finite or −inf, a finite class at every pixel; `scale` ≥ 0.
 * Returns the (B, C, N) guided, renormalised log-probabilities; throws where they would not be finite,
 * naming the scale `scaleName` (the caller's name for it).
 */
export function guide(src: Float32Array, B: number, C: number, N: number, scale: number, scaleName = "scale"): Float32Array {
  const s = Math.fround(scale);
  const out = new Float32Array(B * C * N);
  const half = B * C * N;
  for (let i = 0; i < half; i++) {
    const u = src[i];
    const c = src[half + i];
    if (s === 0) {
      // The guided p_u^(1−s)·p_c^s is p_u: the conditional half does not enter.
      out[i] = u;
    } else if (c === -Infinity) {
      // p_c = 0: the guided p_u^(1−s)·p_c^s is 0 (the reference would compute −inf − (−inf) = NaN).
      out[i] = -Infinity;
    } else if (u === -Infinity && s < 1) {
      // p_u = 0 with weight 1 − s > 0: the guided value is 0.
      out[i] = -Infinity;
    } else if (u === -Infinity && s === 1) {
      out[i] = c;
    } else if (u === -Infinity) {
      const n = i % N;
      const cls = Math.floor(i / N) % C;
      throw argumentErrorText(
        "output",
        "an unconditional half that is finite wherever the conditional half is (guidance divides by it)",
        `-inf at batch ${Math.floor(i / (C * N))}, class ${cls}, pixel ${n} where the conditional is ${c}`,
      );
    } else {
      const v = Math.fround(u + Math.fround(s * Math.fround(c - u)));
      if (!(v < Infinity && v > -Infinity)) {
        throw argumentErrorText(scaleName, "a scale at which u + scale·(c − u) stays finite in float32", `${scale}, which gives ${v} from u = ${u}, c = ${c}`);
      }
      out[i] = v;
    }
  }
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      let any = false;
      for (let c = 0; c < C && !any; c++) any = out[(b * C + c) * N + n] > -Infinity;
      if (!any) {
        throw argumentErrorText("output", "halves whose guided combination keeps a class of non-zero probability at every pixel", `probability 0 for every class at batch ${b}, pixel ${n}`);
      }
    }
  }
  renormalise(out, B, C, N);
  return out;
}

/** x ← x − logsumexp over the class axis, in place, for (B, C, N) data (float64 sum, float32 result). */
export function renormalise(data: Float32Array, B: number, C: number, N: number): void {
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      const base = b * C * N + n;
      const lse64 = logSumExpStrided(data, base, N, C);
      if (!Number.isFinite(lse64)) continue;
      const lse = Math.fround(lse64);
      for (let c = 0; c < C; c++) data[base + c * N] = Math.fround(data[base + c * N] - lse);
    }
  }
}
