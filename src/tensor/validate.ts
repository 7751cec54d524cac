/**
 * Input checks for tensors: shapes, data lengths, element types and token ranges. Every check throws
 * an `Error` naming the argument, the expectation and what came (see `../errors.ts`); none modifies
 * its input.
 */
import { argumentError, argumentErrorText, describe } from "../errors.js";
import type { Tensor, TokenArray } from "./types.js";

/** The typed arrays the package reads, by name. */
export interface TypedArrayKinds {
  Float32Array: Float32Array;
  Int32Array: Int32Array;
  BigInt64Array: BigInt64Array;
  Uint8Array: Uint8Array;
}

/** %TypedArray%.prototype[@@toStringTag]'s getter: a typed array's own kind, read from its internal slot. */
const typedArrayKind = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Int8Array.prototype), Symbol.toStringTag)!.get!;

/**
 * Whether `value` is a typed array of kind `kind`, from this realm or another: a `vm` context, an
 * iframe, a worker wrapper, whose `Float32Array` is not this realm's (so `instanceof` says no although
 * the array works the same). The kind comes from the array's internal slot, not from a property an
 * object could fake.
 *
 * @example
 * ```ts
 * isTypedArray(new Float32Array(2), "Float32Array"); // true, and also for another realm's Float32Array
 * isTypedArray(new Float64Array(2), "Float32Array"); // false
 * ```
 */
export function isTypedArray<N extends keyof TypedArrayKinds>(value: unknown, kind: N): value is TypedArrayKinds[N] {
  return ArrayBuffer.isView(value) && typedArrayKind.call(value) === kind;
}

/** Renders dims as `[2, 3, 4]`. */
export function formatDims(dims: readonly number[]): string {
  return `[${dims.join(", ")}]`;
}

function product(dims: readonly number[]): number {
  let p = 1;
  for (const d of dims) p *= d;
  return p;
}

/** Checks that `value` is a `{ data, dims }` object with well-formed dims and a matching data length. */
function checkTensorShape(name: string, value: unknown): asserts value is Tensor<ArrayLike<unknown>> {
  if (typeof value !== "object" || value === null || !("data" in value) || !("dims" in value)) {
    throw argumentError(name, "a tensor { data, dims }", value);
  }
  const { data, dims } = value as { data: unknown; dims: unknown };
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw argumentError(`${name}.dims`, "an array of non-negative integers", dims);
  }
  const length = (data as { length?: unknown } | null)?.length;
  if (typeof length === "number" && length !== product(dims)) {
    throw argumentErrorText(`${name}.data`, `length ${product(dims)} for dims ${formatDims(dims)}`, `length ${length}`);
  }
}

/**
 * Checks a float tensor: `Float32Array` data, dims equal to `expected` (a `null` entry matches any
 * size), data length matching. `what` describes the expected shape in words, e.g. `"[B, K-1, N]"`.
 */
export function checkFloatTensor(
  name: string,
  value: unknown,
  expected: readonly (number | null)[],
  what: string,
): Tensor<Float32Array> {
  checkTensorShape(name, value);
  if (!isTypedArray(value.data, "Float32Array")) throw argumentError(`${name}.data`, "a Float32Array", value.data);
  const dims = value.dims;
  if (dims.length !== expected.length || expected.some((e, i) => e !== null && e !== dims[i])) {
    const concrete = expected.map((e) => (e === null ? "*" : String(e))).join(", ");
    throw argumentErrorText(`${name}.dims`, `${what} = [${concrete}]`, formatDims(dims));
  }
  return value as Tensor<Float32Array>;
}

/**
 * Checks a token tensor of dims `expected` (`null` matches any size): `Int32Array` or `BigInt64Array`
 * data, every token an integer in [0, numClasses - 1]. Returns the tokens as an `Int32Array` (the
 * caller's array itself when it is one; a converted copy otherwise).
 */
export function checkTokens(
  name: string,
  value: unknown,
  expected: readonly (number | null)[],
  what: string,
  numClasses: number,
): { tokens: Int32Array; dims: readonly number[]; source: TokenArray } {
  checkTensorShape(name, value);
  const data = value.data;
  if (!isTypedArray(data, "Int32Array") && !isTypedArray(data, "BigInt64Array")) {
    throw argumentError(`${name}.data`, "an Int32Array or a BigInt64Array", data);
  }
  const dims = value.dims;
  if (dims.length !== expected.length || expected.some((e, i) => e !== null && e !== dims[i])) {
    const concrete = expected.map((e) => (e === null ? "*" : String(e))).join(", ");
    throw argumentErrorText(`${name}.dims`, `${what} = [${concrete}]`, formatDims(dims));
  }
  let tokens: Int32Array;
  if (isTypedArray(data, "Int32Array")) {
    tokens = data;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < 0 || v >= numClasses) throw tokenRangeError(name, i, dims, v, numClasses);
    }
  } else {
    tokens = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < 0n || v >= BigInt(numClasses)) throw tokenRangeError(name, i, dims, v, numClasses);
      tokens[i] = Number(v);
    }
  }
  return { tokens, dims, source: data };
}

function tokenRangeError(name: string, flat: number, dims: readonly number[], v: number | bigint, k: number): Error {
  return argumentErrorText(
    `${name}.data`,
    `tokens in [0, ${k - 1}] (K = ${k} classes)`,
    `${describe(v)} at index ${formatIndex(flat, dims)}`,
  );
}

/** Renders a flat index as a multi-index, e.g. `[1, 5]`. */
export function formatIndex(flat: number, dims: readonly number[]): string {
  const idx: number[] = new Array(dims.length);
  for (let a = dims.length - 1; a >= 0; a--) {
    idx[a] = flat % dims[a];
    flat = Math.floor(flat / dims[a]);
  }
  return formatDims(idx);
}

/** Wraps `tokens` in the caller's token type: a `BigInt64Array` when `like` is one, else an `Int32Array`. */
export function tokensLike<T extends TokenArray>(like: T, tokens: Int32Array): T {
  if (isTypedArray(like, "BigInt64Array")) {
    const out = new BigInt64Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = BigInt(tokens[i]);
    return out as T;
  }
  return tokens as T;
}
