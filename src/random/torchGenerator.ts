/**
 * PyTorch's CPU `torch.Generator`, reproduced draw for draw, so that a seed gives the same tokens in
 * JavaScript as in Python.
 *
 * - `manual_seed(s)`: MT19937 seeded with the low 32 bits of s (s itself is kept as `initial_seed`);
 *   negative seeds are taken modulo 2^64, as PyTorch does.
 * - A generator never seeded has initial seed 67280421310721 (PyTorch's `default_rng_seed_val`).
 * - `torch.rand` in float32: one 32-bit draw per element, value `(draw & 0xFFFFFF) / 2^24`, elements in
 *   row-major order.
 */
import { LIMITS } from "../limits.js";
import { argumentError, argumentErrorText, describe } from "../errors.js";
import type { Tensor } from "../tensor/types.js";
import { isTypedArray } from "../tensor/validate.js";
import { MersenneTwister19937, MT_SAVED_LENGTH } from "./mt19937.js";
import { uniform24 } from "./uniform24.js";

/** PyTorch's default seed of a fresh generator. */
export const DEFAULT_TORCH_SEED = 67280421310721n;

const TWO_POW_64 = 1n << 64n;

/**
 * @example
 * ```ts
 * const g = new TorchGenerator().manualSeed(42);
 * g.rand([2, 3]).data; // Float32Array(6), the values of torch.rand((2, 3), generator=torch.Generator().manual_seed(42))
 * ```
 */
export class TorchGenerator {
  private seedValue: bigint = DEFAULT_TORCH_SEED;
  private readonly engine: MersenneTwister19937;

  constructor() {
    this.engine = new MersenneTwister19937(Number(DEFAULT_TORCH_SEED & 0xffffffffn));
  }

  /**
   * Seeds the generator as `torch.Generator.manual_seed`: an integer in [-2^63, 2^64 - 1]. Returns
   * the generator, for chaining.
   */
  manualSeed(seed: number | bigint): this {
    let s: bigint;
    if (typeof seed === "bigint") s = seed;
    else if (typeof seed === "number" && Number.isSafeInteger(seed)) s = BigInt(seed);
    else throw argumentError("seed", "a safe integer or a bigint", seed);
    if (s < -(1n << 63n) || s >= TWO_POW_64) throw argumentError("seed", "an integer in [-2^63, 2^64 - 1]", seed);
    if (s < 0n) s += TWO_POW_64;
    this.seedValue = s;
    this.engine.seed(Number(s & 0xffffffffn));
    return this;
  }

  /**
   * Seeds from the platform's cryptographic source (`crypto.getRandomValues`, in browsers and
   * Node.js alike), as `torch.Generator.seed()` does. Returns the generator.
   */
  seed(): this {
    const words = new Uint32Array(2);
    globalThis.crypto.getRandomValues(words);
    return this.manualSeed((BigInt(words[0]) << 32n) | BigInt(words[1]));
  }

  /** The seed last given to {@link manualSeed} (or the default), as `initial_seed()`; always a bigint. */
  initialSeed(): bigint {
    return this.seedValue;
  }

  /**
   * Uniform floats in [0, 1), as `torch.rand(dims, generator=g)`.
   *
   * @param dims - the shape; the result has `dims.reduce(*)` elements in row-major order.
   */
  rand(dims: readonly number[]): Tensor<Float32Array> {
    if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
      throw argumentError("dims", "an array of non-negative integers", dims);
    }
    const count = dims.reduce((a, b) => a * b, 1);
    if (count > LIMITS.maxTensorElements) {
      throw argumentErrorText("dims", `at most ${LIMITS.maxTensorElements} elements`, `${count} elements for [${dims.join(", ")}]`);
    }
    const data = new Float32Array(count);
    this.fillRand(data);
    return { data, dims: [...dims] };
  }

  /**
   * The stream's position: MT19937's 624 state words, then the index of the next word (625 Int32
   * words; `torch.Generator.get_state` holds the same numbers in another byte layout). With
   * {@link setState}, what lets a caller replay or undo draws (a rejected `step` uses it).
   *
   * @example
   * ```ts
   * const g = new TorchGenerator().manualSeed(1);
   * const state = g.getState();
   * const a = g.rand([3]).data;
   * g.setState(state).rand([3]).data; // equal to a
   * ```
   */
  getState(): Int32Array {
    const out = new Int32Array(MT_SAVED_LENGTH);
    this.engine.saveTo(out);
    return out;
  }

  /** Restores a position from {@link getState} (625 Int32 words, the index in [0, 624]); returns the generator. */
  setState(state: Int32Array): this {
    if (!isTypedArray(state, "Int32Array") || state.length !== MT_SAVED_LENGTH) {
      throw argumentError("state", `an Int32Array of ${MT_SAVED_LENGTH} words (from getState())`, state);
    }
    const index = state[MT_SAVED_LENGTH - 1];
    if (index < 0 || index > MT_SAVED_LENGTH - 1) throw argumentError("state", `a last word (the position) in [0, ${MT_SAVED_LENGTH - 1}]`, index);
    this.engine.loadFrom(state);
    return this;
  }

  /** The next raw 32-bit draw (unsigned), as `torch.randint`'s engine gives it. */
  nextUint32(): number {
    return this.engine.nextUint32();
  }

  /** Writes the next `count` raw 32-bit draws into `out[offset …]`, as `count` calls of {@link nextUint32}. */
  fillUint32(out: Uint32Array, offset = 0, count = out.length - offset): void {
    this.engine.fillUint32(out, offset, count);
  }

  /** Fills `out` with the next `out.length` uniforms (in place: the fast path behind {@link rand}). */
  fillRand(out: Float32Array): void {
    const block = new Uint32Array(Math.min(out.length, 4096));
    for (let o = 0; o < out.length; o += block.length) {
      const n = Math.min(block.length, out.length - o);
      this.engine.fillUint32(block, 0, n);
      for (let i = 0; i < n; i++) out[o + i] = uniform24(block[i]);
    }
  }
}

/** A generator seeded from the platform's cryptographic source: what `step` uses when given none. */
export function randomlySeededGenerator(): TorchGenerator {
  return new TorchGenerator().seed();
}

/** What the package calls on a generator. */
const GENERATOR_METHODS = ["manualSeed", "rand", "fillRand", "getState", "setState", "nextUint32", "fillUint32"] as const;

/**
 * Checks that `value` is a TorchGenerator: this package's, or one from another copy of it (a second
 * install, a bundle), which `instanceof` would refuse although it works the same. Throws naming
 * `name` and the first missing method.
 *
 * @example
 * ```ts
 * const g = checkGenerator("generator", new TorchGenerator().manualSeed(0));
 * ```
 */
export function checkGenerator(name: string, value: unknown): TorchGenerator {
  if (value instanceof TorchGenerator) return value;
  const expected = `a TorchGenerator (methods ${GENERATOR_METHODS.join(", ")})`;
  if (typeof value !== "object" || value === null) throw argumentError(name, expected, value);
  const g = value as Record<string, unknown>;
  for (const m of GENERATOR_METHODS) if (typeof g[m] !== "function") throw argumentErrorText(name, expected, `${describe(value)} without ${m}()`);
  return value as TorchGenerator;
}
