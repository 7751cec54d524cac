/**
 * Reading a component's `config.json` for the graph builders: each value they use is checked, and a
 * value they do not support is refused with an Error naming the file, the key and the value, before
 * any weight is read.
 */

/** A parsed `config.json`. */
export type ComponentConfig = Readonly<Record<string, unknown>>;

function show(value: unknown): string {
  return value === undefined ? "no such key" : JSON.stringify(value);
}

/**
 * An integer value in [min, max]; `fallback` when the key is absent (diffusers' default), or an
 * error when no fallback is given.
 *
 * @throws Error `<file>: "<key>": expected an integer in [min, max], got <value>`.
 * @example
 * ```ts
 * configInt(config, "transformer/config.json", "num_layers", 1, 1024); // 24 for ITHQ
 * ```
 */
export function configInt(config: ComponentConfig, file: string, key: string, min: number, max: number, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${file}: "${key}": expected an integer in [${min}, ${max}], got ${show(config[key])}`);
  }
  return value;
}

/**
 * A finite number in [min, max] (or `fallback` when absent).
 *
 * @throws Error `<file>: "<key>": expected a number in [min, max], got <value>`.
 * @example
 * ```ts
 * configNumber(config, "text_encoder/config.json", "layer_norm_eps", 0, 1, 1e-5);
 * ```
 */
export function configNumber(config: ComponentConfig, file: string, key: string, min: number, max: number, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${file}: "${key}": expected a number in [${min}, ${max}], got ${show(config[key])}`);
  }
  return value;
}

/**
 * One of the values the builder supports (or `fallback` when absent).
 *
 * @throws Error `<file>: "<key>": expected one of …, got <value> (not supported by the converter)`.
 * @example
 * ```ts
 * configChoice(config, "transformer/config.json", "activation_fn", ["gelu", "geglu", "geglu-approximate"], "geglu");
 * ```
 */
export function configChoice<T extends string | boolean | null>(config: ComponentConfig, file: string, key: string, allowed: readonly T[], fallback?: T): T {
  const value = key in config ? config[key] : fallback;
  if (!(allowed as readonly unknown[]).includes(value)) {
    throw new Error(`${file}: "${key}": expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${show(config[key])} (not supported by the converter)`);
  }
  return value as T;
}

/**
 * An array of integers, each in [min, max].
 *
 * @throws Error `<file>: "<key>": expected an array of integers in [min, max], got <value>`.
 * @example
 * ```ts
 * configInts(config, "vqvae/config.json", "block_out_channels", 1, 4096); // [128, 256, 512]
 * ```
 */
export function configInts(config: ComponentConfig, file: string, key: string, min: number, max: number, fallback?: readonly number[]): number[] {
  const value = config[key] ?? fallback;
  if (!Array.isArray(value) || value.length === 0 || value.length > 64 || !value.every((v) => Number.isInteger(v) && v >= min && v <= max)) {
    throw new Error(`${file}: "${key}": expected an array of integers in [${min}, ${max}], got ${show(config[key])}`);
  }
  return [...(value as number[])];
}
