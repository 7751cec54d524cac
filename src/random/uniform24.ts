/**
 * `torch.rand`'s float32 uniform from one 32-bit draw of the MT19937 stream: the low 24 bits over
 * 2^24, so a value in [0, 1 − 2^-24] that float32 holds exactly. The one place this conversion is
 * written: `TorchGenerator.rand` and the fused kernels (which draw in bulk) both use it.
 */

const INV_2_24 = 1 / 16777216;

/**
 * @param draw - a raw 32-bit draw (signed or unsigned bit pattern).
 *
 * @example
 * ```ts
 * uniform24(0xffffffff); // 1 − 2^-24
 * uniform24(0x01000000); // 0: only the low 24 bits count
 * ```
 */
export function uniform24(draw: number): number {
  return (draw & 0xffffff) * INV_2_24;
}
