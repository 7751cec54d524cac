/**
 * Inverse-CDF selection over non-negative weights: the one place the package turns a uniform target
 * into a category (fast mode's categories and classes, purity sampling's classes).
 *
 * Given weights w_from … w_{to−1} and a target in [0, Σ w), it returns the first i with
 * target < w_from + … + w_i. Rounding can leave a target at or past the float sum; then the last
 * positive weight's index is returned (never one of weight 0). `rest`, when given, receives the
 * target's remainder inside the chosen weight (in [0, w_i); w_i when the fallback was taken), which
 * is itself uniform and lets a caller reuse the draw.
 */

/**
 * @returns the chosen index in [from, to), or −1 when no weight is positive.
 *
 * @example
 * ```ts
 * inverseCdf(Float64Array.of(1, 0, 3), 0, 3, 2.5); // 2
 * inverseCdf(Float64Array.of(1, 0, 3), 0, 3, 0.5); // 0
 * ```
 */
export function inverseCdf(weights: Float64Array, from: number, to: number, target: number, rest?: { value: number }): number {
  let last = -1;
  for (let i = from; i < to; i++) {
    const w = weights[i];
    if (w > 0) {
      last = i;
      if (target < w) {
        if (rest) rest.value = target;
        return i;
      }
    }
    target -= w;
  }
  if (rest && last >= 0) rest.value = weights[last];
  return last;
}
