/**
 * A StateDict over a whole safetensors file in memory (F32, F16, BF16, I64), for the graph
 * builders' tests until the formats helper's reader lands. It trusts the file (the test fixtures'),
 * unlike the real readers: no bound is checked.
 */
import type { CheckpointDType, CheckpointTensor, StateDict } from "../../src/formats/checkpointTensor.js";

const DTYPES: Record<string, CheckpointDType> = { F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64" };

/** The tensors of safetensors `bytes`, each `read()` returning a copy of its bytes. */
export function safetensorsStateDict(fileBytes: Uint8Array, file: string): StateDict {
  const bytes = new Uint8Array(fileBytes); // a plain copy: a Node.js Buffer's slice() would alias its pool
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors = new Map<string, CheckpointTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = e.data_offsets;
    tensors.set(name, { name, dtype: DTYPES[e.dtype], shape: e.shape, byteLength: end - begin, read: async () => bytes.slice(8 + n + begin, 8 + n + end) });
  }
  return { file, tensors };
}

/** The elements of tensor `name` of `dict` as float32 (F32 only) or int64 (I64 only). */
export async function float32Of(dict: StateDict, name: string): Promise<Float32Array> {
  const t = dict.tensors.get(name)!;
  if (t.dtype !== "float32") throw new Error(`${name}: expected float32, got ${t.dtype}`);
  return new Float32Array((await t.read()).buffer);
}

/** The elements of the int64 tensor `name` of `dict`. */
export async function int64Of(dict: StateDict, name: string): Promise<BigInt64Array> {
  const t = dict.tensors.get(name)!;
  if (t.dtype !== "int64") throw new Error(`${name}: expected int64, got ${t.dtype}`);
  return new BigInt64Array((await t.read()).buffer);
}
