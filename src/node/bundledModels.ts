/**
 * The models that ship inside the package, by name. `fromPretrained("fashion-mnist")` (vq-diffusion/node)
 * and `vq-diffusion generate --model fashion-mnist` find them in the package's own `models/` folder,
 * wherever the caller's working directory is.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FASHION_MNIST_PROMPTS } from "../demo/fashionMnist.js";

/** A bundled model: its folder inside the package, and the prompts it was trained on. */
export interface BundledModel {
  /** The folder, relative to the package's root. */
  readonly folder: string;
  /** The prompts the model knows (its text encoder saw only these). */
  readonly prompts: readonly string[];
}

/**
 * Models that ship inside the package, by name.
 *
 * @example
 * ```ts
 * BUNDLED_MODELS["fashion-mnist"].prompts; // ["t-shirt", "trouser", ..., "ankle boot"]
 * ```
 */
export const BUNDLED_MODELS: Readonly<Record<string, BundledModel>> = Object.freeze({
  "fashion-mnist": Object.freeze({ folder: "models/fashion-mnist", prompts: FASHION_MNIST_PROMPTS }),
});

/** The package's root folder: two levels above this file, in dist/node (built) or src/node (tests). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The absolute folder of a bundled model, or `undefined` when `name` is not one.
 *
 * @example
 * ```ts
 * bundledModelFolder("fashion-mnist"); // "/…/node_modules/vq-diffusion/models/fashion-mnist"
 * ```
 */
export function bundledModelFolder(name: string): string | undefined {
  const model = Object.hasOwn(BUNDLED_MODELS, name) ? BUNDLED_MODELS[name] : undefined;
  return model && resolve(PACKAGE_ROOT, model.folder);
}
