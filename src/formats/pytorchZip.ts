/**
 * A reader for PyTorch checkpoints in the zip format that `torch.save` writes (the default since
 * torch 1.6; diffusers' `save_pretrained(safe_serialization=False)` and transformers' `pytorch_model.bin`):
 *
 *   <archive>/data.pkl        the state dict, pickled (protocol 2), see statePickle.ts
 *   <archive>/data/<key>      one storage per key: its elements, little-endian, stored (not compressed)
 *   <archive>/byteorder       "little" (torch ≥ 1.13); absent in older files, which are little-endian
 *   <archive>/version, .format_version, .storage_alignment, .data/serialization_id   small text files
 *
 * The zip container (end of central directory, Zip64, the central directory's entries) is read by
 * @zip.js/zip.js through a zip.js `Reader` over the {@link RandomAccessFile}, so the file is never read
 * whole. `data.pkl` is read through zip.js (stored or deflated, bounded by `maxPickleBytes`).
 *
 * A storage's bytes are read by offset, one tensor at a time, in `read()`. For that the reader needs
 * where a stored entry's data begins: zip.js computes it only inside `FileEntry.getData` (it is
 * `EntryMetaData.localDirectory.dataOffset`, "set when the entry data has been read"), which streams
 * the whole entry, a storage of up to gigabytes, to a writer. So the 30-byte local file header of each
 * storage entry (plus its file name, compared with the central directory's) is read here, as the zip
 * specification (APPNOTE 4.3.7) lays it out; its extra field is skipped by its length, never parsed.
 *
 * Everything the file declares is checked when it is opened, before any tensor is read: the number of
 * entries, the pickle's size, each storage entry (stored, not encrypted, its data inside the file and
 * of exactly the storage's numel × the dtype's bytes), each tensor's view (storage_offset, shape and
 * stride inside its storage), and a storage named twice with different types or sizes.
 */
import { Reader, Uint8ArrayWriter, ZipReader, type Entry, type FileEntry } from "@zip.js/zip.js";
import { CHECKPOINT_DTYPE_BYTES, type CheckpointDType, type CheckpointTensor, type StateDict } from "./checkpointTensor.js";
import type { RandomAccessFile } from "../files/randomAccessFile.js";
import { readStatePickle, TORCH_STORAGE_DTYPES, type PickledTensor } from "./statePickle.js";

/**
 * Bounds of {@link readPyTorchZip}.
 *
 * @example
 * ```ts
 * await readPyTorchZip(file, { maxEntries: 10_000, maxPickleBytes: 8 * 2 ** 20 });
 * ```
 */
export interface PyTorchZipOptions {
  /**
   * Most zip entries accepted (default 65 536; ITHQ's transformer has about 1 700). The central
   * directory zip.js reads is bounded by it too, at 1 KiB an entry.
   */
  maxEntries?: number;
  /** Largest `data.pkl`, uncompressed, in bytes (default 64 MiB; ITHQ's is about 150 KB). */
  maxPickleBytes?: number;
}

/**
 * The defaults of {@link PyTorchZipOptions}.
 *
 * @example
 * ```ts
 * PYTORCH_ZIP_DEFAULTS.maxPickleBytes; // 67108864 (64 MiB)
 * ```
 */
export const PYTORCH_ZIP_DEFAULTS: Readonly<Required<PyTorchZipOptions>> = { maxEntries: 65_536, maxPickleBytes: 64 * 2 ** 20 };

/** The size of a zip local file header before its file name (APPNOTE 4.3.7). */
const LOCAL_HEADER_BYTES = 30;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;

/**
 * Opens a PyTorch zip checkpoint: reads its central directory and `data.pkl`, checks every storage and
 * view against the file, and returns its tensors, each read lazily.
 *
 * @param file - the checkpoint (read by offset; never whole).
 * @param options - bounds on what the file declares.
 * @returns the state dict: keys in the pickle's order; each tensor's `read()` gives its elements
 *   contiguous, row-major, little-endian (float32, float16, bfloat16 or int64), a strided view gathered.
 * @throws Error starting with `file.name`: not a zip (or truncated), over the bounds, no or several
 *   `data.pkl`, a big-endian file, a pickle outside the state-dict subset (an opcode or a global other
 *   than those a state dict uses, e.g. `builtins.eval`: named), a dtype other than the four (its storage
 *   type named), a storage entry that is missing, compressed, encrypted, outside the file or of another
 *   size than its numel, or a view outside its storage.
 * @example
 * ```ts
 * import { openRandomAccessFile } from "vq-diffusion/node";
 * const file = await openRandomAccessFile("ithq/transformer/diffusion_pytorch_model.bin", "transformer/diffusion_pytorch_model.bin");
 * const dict = await readPyTorchZip(file);
 * const w = dict.tensors.get("transformer_blocks.0.attn1.to_q.weight")!; // float32, [512, 512]
 * const bytes = await w.read(); // 1 MiB read from its own range of the file
 * ```
 */
export async function readPyTorchZip(file: RandomAccessFile, options: PyTorchZipOptions = {}): Promise<StateDict> {
  const name = file.name;
  const maxEntries = bound(name, "maxEntries", options.maxEntries, PYTORCH_ZIP_DEFAULTS.maxEntries);
  const maxPickleBytes = bound(name, "maxPickleBytes", options.maxPickleBytes, PYTORCH_ZIP_DEFAULTS.maxPickleBytes);
  const entries = await zipEntries(file, maxEntries, Math.max(maxEntries * 1024, maxPickleBytes));

  const pickles = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.filename));
  if (pickles.length !== 1) {
    throw new Error(`${name}: expected one <archive>/data.pkl entry (torch.save's zip format), got ${pickles.length}`);
  }
  const archive = pickles[0].filename.slice(0, -"data.pkl".length);
  const byName = new Map<string, FileEntry>();
  for (const e of entries) {
    if (!e.filename.startsWith(archive)) throw new Error(`${name}: expected every entry under ${archive}, got ${JSON.stringify(e.filename)}`);
    if (byName.has(e.filename)) throw new Error(`${name}: expected each entry name once, got ${JSON.stringify(e.filename)} twice`);
    if (!e.directory) byName.set(e.filename, e);
  }
  const byteorder = byName.get(`${archive}byteorder`);
  if (byteorder !== undefined) {
    const text = new TextDecoder().decode(await entryBytes(name, byteorder, 16));
    if (text !== "little") throw new Error(`${name}: expected ${archive}byteorder "little", got ${JSON.stringify(text.slice(0, 16))}`);
  }
  const pickleWhere = `${name}: ${pickles[0].filename}`;
  const described = readStatePickle(await entryBytes(name, pickles[0], maxPickleBytes), pickleWhere);

  // Each storage once: its entry checked, its data located.
  const storages = new Map<string, { type: string; numel: number; dataOffset: number }>();
  for (const [key, t] of described) {
    const s = t.storage;
    const known = storages.get(s.key);
    if (known !== undefined) {
      if (known.type !== s.type || known.numel !== s.numel) {
        throw new Error(`${pickleWhere}: tensor ${JSON.stringify(key)}: expected storage ${s.key} as declared before (${known.type}, ${known.numel} elements), got ${s.type}, ${s.numel} elements`);
      }
      continue;
    }
    const entryName = `${archive}data/${s.key}`;
    const entry = byName.get(entryName);
    if (entry === undefined) throw new Error(`${name}: tensor ${JSON.stringify(key)}: expected its storage entry ${entryName}, got no such entry`);
    const itemBytes = CHECKPOINT_DTYPE_BYTES[dtypeOf(s.type)];
    const expected = s.numel * itemBytes;
    if (entry.uncompressedSize !== expected) {
      throw new Error(`${name}: ${entryName}: expected ${expected} bytes (${s.numel} elements of ${s.type}), got an entry of ${entry.uncompressedSize} bytes`);
    }
    storages.set(s.key, { type: s.type, numel: s.numel, dataOffset: await storedDataOffset(file, entry) });
  }

  const tensors = new Map<string, CheckpointTensor>();
  for (const [key, t] of described) {
    const storage = storages.get(t.storage.key)!;
    checkView(pickleWhere, key, t);
    tensors.set(key, lazyTensor(file, key, t, storage.dataOffset));
  }
  return { file: name, tensors };
}

function bound(file: string, option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${file}: options.${option}: expected a positive integer, got ${String(value)}`);
  return value;
}

function dtypeOf(storageType: string): CheckpointDType {
  return TORCH_STORAGE_DTYPES[storageType as keyof typeof TORCH_STORAGE_DTYPES];
}

/** A zip.js Reader over a RandomAccessFile: reads by offset, refuses reads outside the file or over `maxRead`. */
class RandomAccessReader extends Reader<RandomAccessFile> {
  constructor(private readonly file: RandomAccessFile, private readonly maxRead: number) {
    super(file);
    this.size = file.size;
  }

  override async readUint8Array(index: number, length: number): Promise<Uint8Array> {
    if (length > this.maxRead) {
      throw new Error(`${this.file.name}: expected a zip structure of at most ${this.maxRead} bytes, got one of ${length} bytes at offset ${index}`);
    }
    if (index < 0 || index + length > this.file.size) {
      throw new Error(`${this.file.name}: expected bytes within the file's ${this.file.size}, got a read of ${length} bytes at offset ${index}`);
    }
    return this.file.read(index, length);
  }
}

async function zipEntries(file: RandomAccessFile, maxEntries: number, maxRead: number): Promise<FileEntry[]> {
  const zip = new ZipReader(new RandomAccessReader(file, maxRead), { useWebWorkers: false });
  let entries: Entry[];
  try {
    entries = await zip.getEntries();
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    // The reader's own errors already name the file.
    if (message.startsWith(`${file.name}: `)) throw e;
    throw new Error(`${file.name}: expected a zip file (torch.save's format), got: ${message}`, { cause: e });
  }
  if (entries.length > maxEntries) throw new Error(`${file.name}: expected at most ${maxEntries} zip entries (options.maxEntries), got ${entries.length}`);
  for (const e of entries) {
    if (e.encrypted) throw new Error(`${file.name}: ${e.filename}: expected an entry that is not encrypted, got an encrypted one`);
  }
  return entries.filter((e): e is FileEntry => !e.directory);
}

/** A small entry's bytes, through zip.js (stored or deflated), refused above `max` bytes either way. */
async function entryBytes(file: string, entry: FileEntry, max: number): Promise<Uint8Array> {
  if (entry.uncompressedSize > max || entry.compressedSize > max) {
    throw new Error(`${file}: ${entry.filename}: expected at most ${max} bytes, got an entry of ${entry.uncompressedSize} bytes (${entry.compressedSize} compressed)`);
  }
  try {
    return await entry.getData(new Uint8ArrayWriter(), { checkSignature: true });
  } catch (e) {
    throw new Error(`${file}: ${entry.filename}: expected a readable zip entry, got: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** Where a stored entry's data begins, from its local file header (see the file's comment for why not zip.js). */
async function storedDataOffset(file: RandomAccessFile, entry: FileEntry): Promise<number> {
  const where = `${file.name}: ${entry.filename}`;
  if (entry.compressionMethod !== 0) {
    throw new Error(`${where}: expected a stored storage entry (read by offset), got compression method ${entry.compressionMethod}`);
  }
  if (entry.compressedSize !== entry.uncompressedSize) {
    throw new Error(`${where}: expected a stored entry's sizes to agree, got ${entry.compressedSize} bytes stored for ${entry.uncompressedSize}`);
  }
  const nameBytes = entry.rawFilename;
  const headerEnd = entry.offset + LOCAL_HEADER_BYTES + nameBytes.length;
  if (!Number.isSafeInteger(entry.offset) || headerEnd > file.size) {
    throw new Error(`${where}: expected its local header within the file's ${file.size} bytes, got offset ${entry.offset}`);
  }
  const header = await file.read(entry.offset, LOCAL_HEADER_BYTES + nameBytes.length);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const sameName = view.getUint16(26, true) === nameBytes.length && nameBytes.every((b, i) => header[LOCAL_HEADER_BYTES + i] === b);
  if (view.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE || view.getUint16(8, true) !== 0 || !sameName) {
    throw new Error(`${where}: expected a local file header of a stored entry of that name at offset ${entry.offset}, got other bytes`);
  }
  const dataOffset = headerEnd + view.getUint16(28, true);
  if (dataOffset + entry.compressedSize > file.size) {
    throw new Error(`${where}: expected its ${entry.compressedSize} data bytes within the file's ${file.size}, got data from offset ${dataOffset} to ${dataOffset + entry.compressedSize}`);
  }
  return dataOffset;
}

/** The view's elements lie inside its storage: offset + Σ (shape_i − 1) · stride_i < numel. */
function checkView(where: string, key: string, t: PickledTensor): void {
  let count = 1;
  let last = t.storageOffset;
  for (let i = 0; i < t.shape.length; i++) {
    count *= t.shape[i];
    if (t.shape[i] > 0) last += (t.shape[i] - 1) * t.stride[i];
  }
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(last)) {
    throw new Error(`${where}: tensor ${JSON.stringify(key)}: expected a shape and stride of fewer than 2^53 elements, got shape [${t.shape.join(", ")}], stride [${t.stride.join(", ")}]`);
  }
  if (count > 0 && last >= t.storage.numel) {
    throw new Error(
      `${where}: tensor ${JSON.stringify(key)}: expected its view (offset ${t.storageOffset}, shape [${t.shape.join(", ")}], stride [${t.stride.join(", ")}]) within its storage of ${t.storage.numel} elements, got one reaching element ${last}`,
    );
  }
}

function lazyTensor(file: RandomAccessFile, key: string, t: PickledTensor, dataOffset: number): CheckpointTensor {
  const dtype = dtypeOf(t.storage.type);
  const item = CHECKPOINT_DTYPE_BYTES[dtype];
  const shape = [...t.shape];
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * item;
  // The span of storage elements the view touches, [first, first + span).
  let span = count === 0 ? 0 : 1;
  for (let i = 0; i < shape.length; i++) if (count > 0) span += (shape[i] - 1) * t.stride[i];
  const start = dataOffset + t.storageOffset * item;
  return {
    name: key,
    dtype,
    shape,
    byteLength,
    async read(signal?: AbortSignal): Promise<Uint8Array> {
      signal?.throwIfAborted();
      if (count === 0) return new Uint8Array(0);
      let bytes: Uint8Array;
      try {
        bytes = await file.read(start, span * item);
      } catch (e) {
        throw new Error(`${file.name}: tensor ${JSON.stringify(key)}: expected ${span * item} bytes at offset ${start}, got an error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      signal?.throwIfAborted();
      return span === count && isRowMajor(shape, t.stride) ? bytes : gather(bytes, shape, t.stride, item);
    },
  };
}

/** Whether `stride` is the row-major stride of `shape` (dimensions of size 1 may have any stride). */
function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Copies a strided view (strides in elements, from `src`'s start) into a new row-major array. */
function gather(src: Uint8Array, shape: readonly number[], stride: readonly number[], item: number): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * item);
  const index = new Array<number>(shape.length).fill(0);
  let from = 0;
  for (let n = 0; n < count; n++) {
    for (let b = 0, i = from * item, o = n * item; b < item; b++) out[o + b] = src[i + b];
    // Advance the multi-index, last dimension fastest.
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      from += stride[d];
      if (index[d] < shape[d]) break;
      from -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
