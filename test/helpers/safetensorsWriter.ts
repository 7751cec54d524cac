/**
 * Writes safetensors bytes for the tests (the format: u64 LE header length, JSON header, data).
 * `override` spoils it: another header (object or raw text), header length, padding, or extra
 * zero bytes after the data.
 */
export function safetensorsBytes(
  tensors: Record<string, { dims: number[]; data: Float32Array }>,
  override: { header?: Record<string, unknown>; headerText?: string; headerLength?: bigint; pad?: number; trailing?: number } = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: "F32", shape: t.dims, data_offsets: [offset, offset + 4 * t.data.length] };
    offset += 4 * t.data.length;
  }
  const text = new TextEncoder().encode((override.headerText ?? JSON.stringify(override.header ?? header)) + " ".repeat(override.pad ?? 0));
  const out = new Uint8Array(8 + text.length + offset + (override.trailing ?? 0));
  new DataView(out.buffer).setBigUint64(0, override.headerLength ?? BigInt(text.length), true);
  out.set(text, 8);
  let at = 8 + text.length;
  for (const t of Object.values(tensors)) {
    const view = new DataView(out.buffer, at, 4 * t.data.length);
    t.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
    at += 4 * t.data.length;
  }
  return out;
}
