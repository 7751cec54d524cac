/**
 * The transformer's latent grid from its config.json, diffusers' rule for `Transformer2DModel` with vector
 * input: `height` and `width` where either is given, else `sample_size` for both; N = height · width.
 */
import { LIMITS } from "../limits.js";

/** Reads one integer key of the config in [min, max], throwing the caller's own message otherwise. */
export type IntegerReader = (key: string, min: number, max: number) => number;

/**
 * The latent grid of a transformer config: height and width, each ≥ 1, with height · width ≤
 * {@link LIMITS.maxLatentPixels}. One rule for the pipeline's model folder and the converter.
 *
 * @param config - the parsed config.json (not modified).
 * @param file - the file's name for messages.
 * @param readInt - how the caller reads an integer key (its error format).
 * @throws Error from `readInt` for a missing or out-of-range key, or `<file>: expected height · width <= M
 *   latent pixels, got H · W = N`.
 * @example
 * ```ts
 * latentGrid({ sample_size: 32 }, "transformer/config.json", (k, lo, hi) => integerKey(json, file, k, lo, hi)); // { height: 32, width: 32 }
 * ```
 */
export function latentGrid(config: Readonly<Record<string, unknown>>, file: string, readInt: IntegerReader): { height: number; width: number } {
  let height: number;
  let width: number;
  if (config.height !== undefined || config.width !== undefined) {
    height = readInt("height", 1, LIMITS.maxLatentPixels);
    width = readInt("width", 1, LIMITS.maxLatentPixels);
  } else {
    height = width = readInt("sample_size", 1, Math.floor(Math.sqrt(LIMITS.maxLatentPixels)));
  }
  if (height * width > LIMITS.maxLatentPixels) {
    throw new Error(`${file}: expected height · width <= ${LIMITS.maxLatentPixels} latent pixels, got ${height} · ${width} = ${height * width}`);
  }
  return { height, width };
}
