/**
 * Log one-hot encoding of tokens, as the reference's `index_to_log_onehot`: one-hot along a new
 * class axis, clamped below at 1e-30, then log. Entries are 0 at the token's class and
 * log(float32(1e-30)) ≈ -69.0776 elsewhere.
 */
import { LIMITS } from "../limits.js";
import { argumentError, argumentErrorText } from "../errors.js";
import { LOG_ONEHOT_FLOOR } from "../math/logSpace.js";
import { checkTokens } from "./validate.js";
import type { Tensor, TokenArray } from "./types.js";

/**
 * @param x - tokens, shape (B, N), values in [0, numClasses - 1].
 * @param numClasses - K.
 * @returns log one-hot vectors, shape (B, K, N).
 *
 * @example
 * ```ts
 * indexToLogOnehot({ data: new Int32Array([1, 0]), dims: [1, 2] }, 3).data;
 * // [L, 0, 0, L, L, L] with L = log(float32(1e-30)): class-major, pixel-minor
 * ```
 */
export function indexToLogOnehot(x: Tensor<TokenArray>, numClasses: number): Tensor<Float32Array> {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > LIMITS.maxNumVecClasses) {
    throw argumentError("numClasses", `an integer in [1, ${LIMITS.maxNumVecClasses}]`, numClasses);
  }
  const { tokens, dims } = checkTokens("x", x, [null, null], "[B, N]", numClasses);
  const [B, N] = dims;
  const K = numClasses;
  if (B * K * N > LIMITS.maxTensorElements) {
    throw argumentErrorText("x.dims", `B·K·N <= ${LIMITS.maxTensorElements} elements for the one-hot`, `${B}·${K}·${N} = ${B * K * N}`);
  }
  const data = new Float32Array(B * K * N).fill(LOG_ONEHOT_FLOOR);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) data[(b * K + tokens[b * N + n]) * N + n] = 0;
  }
  return { data, dims: [B, K, N] };
}
