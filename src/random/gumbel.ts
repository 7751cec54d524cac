/**
 * Gumbel noise from a uniform, as the reference's `gumbel_noised`:
 *   g(u) = −log(−log(u + 1e-30) + 1e-30),
 * computed in float64 from the float32 uniform. g is strictly increasing in u, which the fused
 * kernels use to prune: a larger uniform never gives smaller noise.
 */

/**
 * @param u - a uniform in [0, 1) (a float32 value of `torch.rand`).
 *
 * @example
 * ```ts
 * gumbelNoise(Math.exp(-1)); // 0 (up to rounding): g(e^{-1}) = −log(1)
 * ```
 */
export function gumbelNoise(u: number): number {
  return -Math.log(-Math.log(u + 1e-30) + 1e-30);
}
