/**
 * A StateDict held in memory (float32 tensors), for tests of the graph builders: what a weights file
 * reader gives, without a file.
 */
import type { CheckpointTensor, StateDict } from "../../src/formats/checkpointTensor.js";

/** A StateDict of float32 tensors: `tensors` maps a key to [shape, values]. */
export function memoryStateDict(file: string, tensors: Record<string, readonly [readonly number[], Float32Array]>): StateDict {
  const map = new Map<string, CheckpointTensor>();
  for (const [name, [shape, values]] of Object.entries(tensors)) {
    map.set(name, {
      name,
      dtype: "float32",
      shape,
      byteLength: values.byteLength,
      read: async () => new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
    });
  }
  return { file, tensors: map };
}
