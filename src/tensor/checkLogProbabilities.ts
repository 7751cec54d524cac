/**
 * The value check on model outputs: log-probabilities may be any float or -inf, never NaN or +inf;
 * every pixel needs at least one class with a finite value (otherwise nothing can be drawn and the
 * reference silently produces NaN), and its largest value within ±LIMITS.maxLogProbabilityMagnitude
 * (beyond, float rounding would decide the tokens: see `limits.ts`).
 */
import { argumentErrorText } from "../errors.js";
import { LIMITS } from "../limits.js";
import type { Tensor } from "./types.js";
import { checkFloatTensor, formatIndex } from "./validate.js";

/**
 * Checks a (B, C, N) tensor of log-probabilities: a `{ data: Float32Array, dims }` of rank 3 whose
 * data length matches, values finite or −inf, each pixel with a finite class. Returns its sizes.
 *
 * @example
 * ```ts
 * const { B, C, N } = checkLogProbabilityTensor("logp", { data: new Float32Array(6), dims: [1, 3, 2] });
 * ```
 */
export function checkLogProbabilityTensor(name: string, value: unknown): { B: number; C: number; N: number; data: Float32Array } {
  const t: Tensor<Float32Array> = checkFloatTensor(name, value, [null, null, null], "[B, C, N]");
  const [B, C, N] = t.dims;
  checkLogProbabilities(name, t.data, B, C, N);
  return { B, C, N, data: t.data };
}

/**
 * Throws unless `data`, shape (B, R, N), holds no NaN or +inf and each (b, n) has a finite entry, the
 * largest within ±{@link LIMITS}.maxLogProbabilityMagnitude.
 *
 * @example
 * ```ts
 * checkLogProbabilities("modelOutput", new Float32Array([0, -Infinity]), 1, 2, 1); // passes
 * ```
 */
export function checkLogProbabilities(name: string, data: Float32Array, B: number, R: number, N: number): void {
  const peak = new Float32Array(B * N).fill(-Infinity);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const row = (b * R + r) * N;
      for (let n = 0; n < N; n++) {
        const v = data[row + n];
        if (v > -Infinity && v < Infinity) {
          if (v > peak[b * N + n]) peak[b * N + n] = v;
        } else if (v !== -Infinity) throw badValue(name, v, row + n, [B, R, N]);
      }
    }
  }
  const bound = LIMITS.maxLogProbabilityMagnitude;
  for (let p = 0; p < B * N; p++) {
    const m = peak[p];
    if (m >= -bound && m <= bound) continue;
    const where = `batch ${Math.floor(p / N)}, pixel ${p % N}`;
    if (m === -Infinity) throw argumentErrorText(`${name}.data`, "at least one finite log-probability per pixel", `-inf for every class at ${where}`);
    throw argumentErrorText(
      `${name}.data`,
      `each pixel's largest log-probability within ±${bound} (only differences within a pixel matter: subtract its maximum)`,
      `${m} at ${where}`,
    );
  }
}

/** The error for a NaN or +inf found at flat index `flat` of a tensor of dims `dims`. */
export function badValue(name: string, v: number, flat: number, dims: readonly number[]): Error {
  return argumentErrorText(`${name}.data`, "log-probabilities (finite or -inf, never NaN or +inf)", `${v} at index ${formatIndex(flat, dims)}`);
}
