/**
 * Log-space arithmetic in float64, with PyTorch's conventions for infinities (so that the plain
 * implementations agree with the reference wherever the reference is finite).
 */

/**
 * log(exp(x) + exp(y)) without overflow. Both -inf gives -inf (not NaN), as `torch.logaddexp`.
 *
 * @example
 * ```ts
 * logAddExp(0, 0); // Math.LN2
 * logAddExp(-Infinity, -Infinity); // -Infinity
 * ```
 */
export function logAddExp(x: number, y: number): number {
  const m = x > y ? x : y;
  if (m === -Infinity || m === Infinity) return m;
  return m + Math.log1p(Math.exp(-Math.abs(x - y)));
}

/**
 * log Σ exp(values[offset + i·stride]) for i < count, shifted by the maximum as `torch.logsumexp`
 * does; -inf when every entry is -inf.
 *
 * @example
 * ```ts
 * logSumExpStrided(new Float64Array([0, 0]), 0, 1, 2); // Math.LN2
 * ```
 */
export function logSumExpStrided(values: ArrayLike<number>, offset: number, stride: number, count: number): number {
  const parts = { max: 0, sum: 0 };
  logSumExpParts(values, offset, stride, count, parts);
  return parts.max === -Infinity || parts.max === Infinity ? parts.max : parts.max + Math.log(parts.sum);
}

/**
 * The two parts of {@link logSumExpStrided}: `max` = the largest entry (NaN when one is NaN) and
 * `sum` = Σ exp(entry − max) (not computed, 0, when max is ±inf or NaN). For callers that need the
 * pieces themselves (an inverse CDF over the same column: `sampling/purity.ts`).
 *
 * @example
 * ```ts
 * const parts = { max: 0, sum: 0 };
 * logSumExpParts(new Float64Array([0, 0]), 0, 1, 2, parts); // parts = { max: 0, sum: 2 }
 * ```
 */
export function logSumExpParts(
  values: ArrayLike<number>,
  offset: number,
  stride: number,
  count: number,
  out: { max: number; sum: number },
): void {
  let m = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[offset + i * stride];
    if (v > m || v !== v) m = v;
    if (m !== m) break;
  }
  out.max = m;
  out.sum = 0;
  if (m === -Infinity || m === Infinity || m !== m) return;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.exp(values[offset + i * stride] - m);
  out.sum = sum;
}

/** log(float32(1e-30)): the log one-hot floor the reference gets from `clamp(min=1e-30)`. */
export const LOG_ONEHOT_FLOOR = Math.log(Math.fround(1e-30));
