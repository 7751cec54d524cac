/**
 * Writes a safetensors file of float32 tensors (the format: an 8-byte little-endian header length,
 * a JSON header padded with spaces to a multiple of 8 bytes, then each tensor's raw little-endian
 * bytes, in order, tiling the data exactly).
 */

/** One float32 tensor to write: its dims and its elements as little-endian bytes. */
export interface Float32TensorBytes {
  readonly dims: readonly number[];
  readonly bytes: Uint8Array;
}

/**
 * The bytes of a safetensors file holding `tensors` (dtype F32), in the map's order.
 *
 * @throws Error naming the tensor when its byte count is not 4 × its dims' product.
 * @example
 * ```ts
 * const file = safetensorsFloat32(new Map([["embeddings", { dims: [77, 512], bytes }]]));
 * ```
 */
export function safetensorsFloat32(tensors: ReadonlyMap<string, Float32TensorBytes>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const expected = 4 * t.dims.reduce((a, b) => a * b, 1);
    if (t.bytes.length !== expected) throw new Error(`tensor "${name}": expected ${expected} bytes for F32 [${t.dims.join(", ")}], got ${t.bytes.length}`);
    header[name] = { dtype: "F32", shape: [...t.dims], data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}
