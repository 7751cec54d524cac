/**
 * The Node.js {@link RandomAccessFile}: a file handle read by offset, so that the checkpoint readers
 * (formats/pytorchZip.ts, formats/safetensors.ts) never hold a weights file whole.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { RandomAccessFile } from "../files/randomAccessFile.js";

/**
 * A {@link RandomAccessFile} over an open file handle, to be closed by its owner.
 *
 * @example
 * ```ts
 * const file: NodeRandomAccessFile = await openRandomAccessFile("model.bin", "model.bin");
 * await file.read(0, 4); // the zip signature, "PK\x03\x04"
 * await file.close();
 * ```
 */
export interface NodeRandomAccessFile extends RandomAccessFile {
  /** Closes the handle; later reads throw. Closing twice is harmless. */
  close(): Promise<void>;
}

/**
 * Opens a file for reads by offset. Its size is taken once, when it is opened.
 *
 * @param path - the file on disk.
 * @param name - how messages name it (its path in its model folder, e.g. `transformer/diffusion_pytorch_model.bin`).
 * @returns the file; each `read(offset, length)` returns a new array of exactly `length` bytes.
 * @throws Error naming `name` when the file cannot be opened or is not a regular file; `read` throws naming
 *   `name` for a range outside the file (offset or length negative, not an integer, or past its size), a file
 *   that ended early (shrunk since it was opened), or a read after `close()`.
 * @example
 * ```ts
 * const file = await openRandomAccessFile("/models/ithq/transformer/diffusion_pytorch_model.bin", "transformer/diffusion_pytorch_model.bin");
 * try {
 *   const dict = await readPyTorchZip(file);
 * } finally {
 *   await file.close();
 * }
 * ```
 */
export async function openRandomAccessFile(path: string, name: string): Promise<NodeRandomAccessFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    throw new Error(`${name}: expected a readable file, got an error: ${(e as Error).message}`, { cause: e });
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    throw new Error(`${name}: expected a regular file, got something else at ${path}`);
  }
  const size = stat.size;
  let closed = false;
  return {
    name,
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new Error(`${name}: expected a read within the file's ${size} bytes, got ${length} bytes at offset ${offset}`);
      }
      if (closed) throw new Error(`${name}: expected an open file, got a read after close()`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${name}: expected ${length} bytes at offset ${offset}, got the end of the file after ${done} (did it shrink?)`);
        done += bytesRead;
      }
      return out;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}
