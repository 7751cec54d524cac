/**
 * The reference's draw, plainly: Gumbel-noise every logit with one uniform of `torch.rand(logits.shape)`
 * and take the argmax over the class axis (the first index wins a tie, as `torch.argmax`). This is
 * the specification the fused kernel is compared with. An oracle: built for the tests and the bench,
 * not published (package.json leaves `dist/oracles` out).
 */
import { gumbelNoise } from "../random/gumbel.js";
import type { TorchGenerator } from "../random/torchGenerator.js";

/**
 * @param logits - shape (B, R, N), float64 (or float32) values; R classes.
 * @param generator - draws B·R·N uniforms, in row-major order (b, class, pixel).
 * @returns argmax_r (logits + gumbel), shape (B, N).
 *
 * @example
 * ```ts
 * gumbelArgmaxPlain(new Float64Array([0, -Infinity]), 1, 2, 1, new TorchGenerator().manualSeed(0)); // Int32Array [0]
 * ```
 */
export function gumbelArgmaxPlain(
  logits: ArrayLike<number>,
  B: number,
  R: number,
  N: number,
  generator: TorchGenerator,
): Int32Array {
  const u = generator.rand([B, R, N]).data;
  const out = new Int32Array(B * N);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      let best = -Infinity;
      let arg = 0;
      for (let r = 0; r < R; r++) {
        const i = (b * R + r) * N + n;
        const v = logits[i] + gumbelNoise(u[i]);
        if (v > best) {
          best = v;
          arg = r;
        }
      }
      out[b * N + n] = arg;
    }
  }
  return out;
}
