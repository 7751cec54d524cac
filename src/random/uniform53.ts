/**
 * A uniform double in [0, 1) with 53 random bits, from two 32-bit draws of a generator's MT19937
 * stream (numpy's `random_sample` construction): (a >>> 5)·2^26 + (b >>> 6), over 2^53. Used where one
 * uniform per pixel must resolve probabilities far below float32's 2^-24 (fast mode, noising, purity).
 */
import type { TorchGenerator } from "./torchGenerator.js";

/**
 * @example
 * ```ts
 * uniform53(new TorchGenerator().manualSeed(0)); // a number in [0, 1), two draws consumed
 * ```
 */
export function uniform53(generator: TorchGenerator): number {
  const a = generator.nextUint32() >>> 5;
  const b = generator.nextUint32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}
