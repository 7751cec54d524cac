/**
 * Tensors as this package sees them: any object with a flat, row-major `data` array and its `dims`.
 * onnxruntime's `Tensor` and transformers.js' `Tensor` have exactly these two fields, so they are
 * accepted as they are, and what this package returns can be handed back to them.
 */

/** Token ids: `Int32Array`, or `BigInt64Array` (what an ONNX `int64` input takes). */
export type TokenArray = Int32Array | BigInt64Array;

/**
 * A row-major tensor: `data[i0 * dims[1] * ... + ...]`, `data.length` = product of `dims`.
 *
 * @example
 * ```ts
 * const x: Tensor<Float32Array> = { data: new Float32Array(6), dims: [2, 3] };
 * ```
 */
export interface Tensor<T> {
  readonly data: T;
  readonly dims: readonly number[];
}

/** Log-probabilities and other float data: `Float32Array`. */
export type FloatTensor = Tensor<Float32Array>;

/** Tokens, shape (B, N) unless stated otherwise. */
export type TokenTensor<T extends TokenArray = TokenArray> = Tensor<T>;
