/**
 * A reader for the safetensors format (Hugging Face), as its specification defines it:
 *   bytes 0..8      N, the header's length, unsigned 64-bit little-endian
 *   bytes 8..8+N    a JSON object (UTF-8, may be padded with trailing spaces): for each tensor name,
 *                   { "dtype", "shape": [...], "data_offsets": [begin, end] }, offsets relative to the
 *                   byte buffer after the header; an optional "__metadata__" of strings
 *   bytes 8+N..     the byte buffer: each tensor's elements, row-major, little-endian
 * Two readers share one parser of the header: {@link readSafetensors} takes the whole file's bytes
 * and gives F32 tensors (what the pipeline's learned embeddings need); {@link readSafetensorsFile}
 * takes a {@link RandomAccessFile}, reads only the header up front and each tensor (F32, F16, BF16 or
 * I64) lazily by offset, for the converter's weights. Every size is checked against the file before
 * anything is copied, so a truncated or malformed file is an error, never garbage. As the format's
 * reference reader (`Metadata::validate`), the tensors' byte ranges, sorted, must tile the byte buffer
 * exactly from 0 to its end (no overlap, no gap, no trailing bytes); and each name appears once (a
 * JSON object with a repeated key would otherwise load one entry silently).
 */
import { describe } from "../errors.js";
import { formatDims, isTypedArray } from "../tensor/validate.js";
import { CHECKPOINT_DTYPE_BYTES, type CheckpointDType, type CheckpointTensor, type StateDict } from "./checkpointTensor.js";
import type { RandomAccessFile } from "../files/randomAccessFile.js";

/** One tensor of a safetensors file: F32 data, row-major, of shape `dims`. */
export interface SafetensorsTensor {
  readonly dtype: "F32";
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** The largest header accepted (the format's reference implementation caps it at 100 MB). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** safetensors' dtype names of the {@link CheckpointDType}s. */
const DTYPES: Readonly<Record<string, CheckpointDType>> = { F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64" };

/** One entry of the header, checked: its byte range is relative to the byte buffer. */
interface HeaderEntry {
  name: string;
  dtype: string;
  dims: number[];
  begin: number;
  end: number;
}

/**
 * Parses a safetensors file.
 *
 * @param bytes - the whole file.
 * @param file - the file's name, for error messages.
 * @returns a map from tensor name to tensor (a copy of the data: the result does not alias `bytes`).
 * @throws Error naming `file`: a malformed or truncated file, or a tensor that is not F32.
 *
 * @example
 * ```ts
 * const tensors = readSafetensors(bytes, "diffusion_pytorch_model.safetensors");
 * const e = tensors.get("embeddings"); // { dtype: "F32", dims: [77, 512], data: Float32Array }
 * ```
 */
export function readSafetensors(bytes: Uint8Array, file: string): Map<string, SafetensorsTensor> {
  if (!isTypedArray(bytes, "Uint8Array")) throw new Error(`${file}: expected the file's bytes as a Uint8Array, got ${describe(bytes)}`);
  const n = headerLength(bytes.subarray(0, 8), bytes.length, file);
  const dataStart = 8 + n;
  const entries = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, file, ["F32"]);
  const out = new Map<string, SafetensorsTensor>();
  for (const { name, dims, begin, end } of entries) {
    const count = (end - begin) / 4;
    const data = new Float32Array(count);
    const src = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    for (let i = 0; i < count; i++) data[i] = src.getFloat32(4 * i, true);
    out.set(name, { dtype: "F32", dims, data });
  }
  return out;
}

/**
 * Opens a safetensors file for reads by offset: reads its 8-byte length and its header (bounded by
 * {@link SAFETENSORS_MAX_HEADER_BYTES} and the file's size), checks every entry, and returns the
 * tensors, each read lazily from its own byte range.
 *
 * @param file - the weights file (never read whole).
 * @returns its state dict, in the tensors' order in the file; `read()` gives a tensor's bytes as they
 *   are stored (row-major, little-endian float32, float16, bfloat16 or int64).
 * @throws Error naming the file: a malformed or truncated header, a dtype other than F32, F16, BF16 or
 *   I64, a shape that disagrees with its byte range, ranges that do not tile the data, or a repeated name.
 * @example
 * ```ts
 * const dict = await readSafetensorsFile(await openRandomAccessFile(path, "transformer/diffusion_pytorch_model.fp16.safetensors"));
 * dict.tensors.get("norm_out.linear.weight")!.dtype; // "float16"
 * ```
 */
export async function readSafetensorsFile(file: RandomAccessFile): Promise<StateDict> {
  const name = file.name;
  if (file.size < 8) throw new Error(`${name}: expected a safetensors file (8-byte header length first), got ${file.size} bytes`);
  const n = headerLength(await file.read(0, 8), file.size, name);
  const dataStart = 8 + n;
  const entries = parseHeader(await file.read(8, n), file.size - dataStart, name, Object.keys(DTYPES));
  const tensors = new Map<string, CheckpointTensor>();
  for (const { name: key, dtype, dims, begin, end } of entries) {
    tensors.set(key, {
      name: key,
      dtype: DTYPES[dtype],
      shape: dims,
      byteLength: end - begin,
      async read(signal?: AbortSignal): Promise<Uint8Array> {
        signal?.throwIfAborted();
        try {
          return await file.read(dataStart + begin, end - begin);
        } catch (e) {
          throw new Error(`${name}: tensor "${key}": expected ${end - begin} bytes at offset ${dataStart + begin}, got an error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
        }
      },
    });
  }
  return { file: name, tensors };
}

/** N, the header's length, from the first 8 bytes, checked against the file's size and the bound. */
function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) throw new Error(`${file}: expected a safetensors file (8-byte header length first), got ${fileSize} bytes`);
  const length = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(fileSize - 8)) {
    throw new Error(`${file}: expected a header of at most ${fileSize - 8} bytes (the rest of the file), got a header length of ${length}`);
  }
  if (length > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw new Error(`${file}: expected a header of at most ${SAFETENSORS_MAX_HEADER_BYTES} bytes, got ${length}`);
  }
  return Number(length);
}

/** The header's entries, checked and sorted by offset (the tiling rule holds). */
function parseHeader(headerBytes: Uint8Array, dataLength: number, file: string, dtypes: readonly string[]): HeaderEntry[] {
  let header: unknown;
  let headerText: string;
  try {
    headerText = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
    header = JSON.parse(headerText);
  } catch (e) {
    throw new Error(`${file}: expected a JSON header, got a parse error: ${(e as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new Error(`${file}: expected the header to be a JSON object, got ${describe(header)}`);
  }
  const duplicate = firstDuplicateKey(headerText);
  if (duplicate !== null) throw new Error(`${file}: expected each tensor name once, got ${JSON.stringify(duplicate)} twice`);
  const entries: HeaderEntry[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") continue;
    const where = `${file}: tensor "${name}"`;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof e !== "object" || e === null) throw new Error(`${where}: expected { dtype, shape, data_offsets }, got ${describe(entry)}`);
    const dtype = e.dtype;
    if (typeof dtype !== "string" || !dtypes.includes(dtype)) throw new Error(`${where}: expected dtype ${dtypes.map((d) => `"${d}"`).join(" or ")}, got ${describe(dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${where}: expected shape to be an array of non-negative integers, got ${describe(shape)}`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new Error(`${where}: expected data_offsets [begin, end] with 0 <= begin <= end, got ${describe(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw new Error(`${where}: expected data_offsets within the ${dataLength} data bytes, got [${begin}, ${end}]`);
    const itemBytes = CHECKPOINT_DTYPE_BYTES[DTYPES[dtype]];
    let count = 1;
    for (const d of shape as number[]) count *= d;
    if (count * itemBytes !== end - begin) {
      throw new Error(`${where}: expected ${count * itemBytes} bytes for ${dtype} shape ${formatDims(shape as number[])}, got ${end - begin} (data_offsets [${begin}, ${end}])`);
    }
    entries.push({ name, dtype, dims: [...(shape as number[])], begin, end });
  }
  // The reference reader's rule: sorted by offsets, the tensors tile the data bytes exactly, from 0 to the end.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const { name, begin, end } of entries) {
    if (begin !== covered) {
      const what = begin < covered ? "overlaps the tensor before it" : "leaves a gap after the tensor before it";
      throw new Error(`${file}: tensor "${name}": expected data_offsets to begin at ${covered} (the tensors tile the data bytes without gaps or overlaps), got [${begin}, ${end}], which ${what}`);
    }
    covered = end;
  }
  if (covered !== dataLength) {
    throw new Error(`${file}: expected the tensors to cover the ${dataLength} data bytes exactly, got ${dataLength - covered} bytes after the last tensor`);
  }
  return entries;
}

/**
 * The first key that appears twice in the top-level object of `json` (already valid JSON), or null.
 * JSON.parse keeps the last of repeated keys without a word, so they are found in the text.
 */
function firstDuplicateKey(json: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < json.length && /\s/.test(json[k])) k++;
        if (json[k] === ":") {
          const key = JSON.parse(json.slice(i, j + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    }
  }
  return null;
}
