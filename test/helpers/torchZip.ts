/**
 * Writes small files in torch.save's zip format for the reader's bad-input and property tests: a
 * state-dict pickle laid out as torch.save lays it out (protocol 2), zipped by zip.js.
 */
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from "@zip.js/zip.js";

/** One tensor of a crafted state dict: a view of storage `storageKey` of `numel` elements. */
export interface CraftedTensor {
  key: string;
  storageType?: string;
  storageKey: string;
  numel: number;
  offset?: number;
  shape: number[];
  stride: number[];
}

const enc = new TextEncoder();

/** Pickle bytes, built opcode by opcode. */
export class PickleBytes {
  private readonly parts: number[] = [];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  str(s: string): this {
    const b = enc.encode(s);
    return this.op(0x58, b.length & 255, (b.length >> 8) & 255, (b.length >> 16) & 255, b.length >>> 24, ...b);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...enc.encode(`${module}\n${name}\n`));
  }
  int(n: number): this {
    if (n >= 0 && n < 2 ** 31) return this.op(0x4a, n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24);
    let v = BigInt(n);
    const bytes: number[] = [];
    for (let i = 0; i < 8; i++, v >>= 8n) bytes.push(Number(v & 255n));
    return this.op(0x8a, 8, ...bytes);
  }
  tuple(items: number[]): this {
    this.op(0x28);
    for (const i of items) this.int(i);
    return this.op(0x74);
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

/** A state dict's data.pkl as torch.save writes it (without the memo). */
export function statePickle(tensors: readonly CraftedTensor[]): Uint8Array {
  const p = new PickleBytes().op(0x80, 2, 0x7d, 0x28);
  for (const t of tensors) {
    const [module, name] = (t.storageType ?? "torch.FloatStorage").split(/\.(?=[^.]+$)/);
    p.str(t.key).global("torch._utils", "_rebuild_tensor_v2").op(0x28);
    p.op(0x28).str("storage").global(module, name).str(t.storageKey).str("cpu").int(t.numel).op(0x74, 0x51);
    p.int(t.offset ?? 0).tuple(t.shape).tuple(t.stride).op(0x89).global("collections", "OrderedDict").op(0x29, 0x52, 0x74, 0x52);
  }
  return p.op(0x75, 0x2e).bytes();
}

/** A zip of `entries` (name → bytes); `deflated` names the entries to compress (others are stored). */
export async function zipBytes(entries: Record<string, Uint8Array>, deflated: readonly string[] = []): Promise<Uint8Array> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false, extendedTimestamp: false });
  for (const [name, bytes] of Object.entries(entries)) {
    await writer.add(name, new Uint8ArrayReader(bytes), { level: deflated.includes(name) ? 9 : 0 });
  }
  return writer.close();
}

/** float32 storage bytes holding 0, 1, 2, … n − 1. */
export function iotaFloat32(n: number): Uint8Array {
  return new Uint8Array(Float32Array.from({ length: n }, (_, i) => i).buffer);
}

/** A crafted torch zip: archive/data.pkl for `tensors` and archive/data/<key> for each storage given. */
export async function torchZip(tensors: readonly CraftedTensor[], storages: Record<string, Uint8Array>, deflated: readonly string[] = []): Promise<Uint8Array> {
  const entries: Record<string, Uint8Array> = { "archive/data.pkl": statePickle(tensors), "archive/byteorder": enc.encode("little") };
  for (const [key, bytes] of Object.entries(storages)) entries[`archive/data/${key}`] = bytes;
  return zipBytes(entries, deflated);
}

/**
 * Overwrites a 4-byte field of `filename`'s central directory record (offsets from the record's
 * start: 20 compressed size, 24 uncompressed size, 42 local header offset). Returns a copy.
 */
export function patchCentral(zip: Uint8Array, filename: string, field: 20 | 24 | 42, value: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const name = enc.encode(filename);
  for (let i = 0; i + 46 <= out.length; i++) {
    if (view.getUint32(i, true) !== 0x02014b50 || view.getUint16(i + 28, true) !== name.length) continue;
    if (!name.every((b, j) => out[i + 46 + j] === b)) continue;
    view.setUint32(i + field, value, true);
    return out;
  }
  throw new Error(`no central directory record for ${filename}`);
}
