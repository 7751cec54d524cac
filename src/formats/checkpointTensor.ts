/**
 * What every reader of a checkpoint's weights gives the converter: the tensors of one weights file
 * (safetensors, or a PyTorch zip written by `torch.save`), each read lazily by offset, one at a
 * time, so that a 5.4 GB file is never held in memory whole.
 *
 * A reader checks everything the file declares (names, dtypes, shapes, offsets, sizes) against the
 * file when it opens it, before any tensor is read; `read()` then only copies bytes.
 */

/**
 * The element types a checkpoint's tensors may have (diffusers' and transformers' weights use the
 * first three; int64 appears as `position_ids` buffers).
 */
export type CheckpointDType = "float32" | "float16" | "bfloat16" | "int64";

/** Bytes per element of each {@link CheckpointDType}. */
export const CHECKPOINT_DTYPE_BYTES: Readonly<Record<CheckpointDType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
};

/**
 * One tensor of a weights file, not yet read.
 *
 * @example
 * ```ts
 * const w = stateDict.tensors.get("transformer_blocks.0.attn1.to_q.weight")!;
 * w.shape; // [512, 512] ([out, in], PyTorch's Linear layout)
 * const bytes = await w.read(); // 512 * 512 * 4 bytes, little-endian float32, row-major
 * ```
 */
export interface CheckpointTensor {
  /** Its key in the state dict. */
  readonly name: string;
  readonly dtype: CheckpointDType;
  /** Its dimensions, row-major. */
  readonly shape: readonly number[];
  /** shape's product × the dtype's bytes. */
  readonly byteLength: number;
  /**
   * Its elements, contiguous, row-major, little-endian: a new array the caller owns (strided
   * storages are gathered). Throws an Error naming the file and the tensor when the file fails.
   */
  read(signal?: AbortSignal): Promise<Uint8Array>;
}

/**
 * The tensors of one weights file, by state-dict key.
 *
 * @example
 * ```ts
 * const dict: StateDict = await readPyTorchZip(file);
 * [...dict.tensors.keys()]; // ["latent_image_embedding.emb.weight", …]
 * ```
 */
export interface StateDict {
  /** The file's path in its folder, for messages. */
  readonly file: string;
  readonly tensors: ReadonlyMap<string, CheckpointTensor>;
}
