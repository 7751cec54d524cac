/**
 * The model files layer's random-access file: what readers of large weights files take, so that they
 * never need a file whole (formats/ reads checkpoints through it; node/randomAccessFile.ts opens one on disk).
 */

/**
 * A file that can be read at any offset: what readers of large weights files take, so that they
 * never need the file whole. The Node.js implementation wraps a file handle; a browser's wraps a Blob.
 *
 * @example
 * ```ts
 * const file: RandomAccessFile = {
 *   name: "memory.bin",
 *   size: bytes.length,
 *   async read(offset, length) { return bytes.slice(offset, offset + length); },
 * };
 * ```
 */
export interface RandomAccessFile {
  /** Its path in its folder, for messages. */
  readonly name: string;
  /** Its size in bytes. */
  readonly size: number;
  /**
   * Exactly `length` bytes from `offset` (a new array). The caller keeps `offset + length <= size`;
   * an implementation throws when that is broken or the file ends early.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}
