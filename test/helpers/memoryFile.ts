/**
 * A RandomAccessFile over bytes in memory, recording the ranges asked of it, for the checkpoint
 * readers' tests.
 */
import type { RandomAccessFile } from "../../src/files/randomAccessFile.js";

/** A memory file and the [offset, length] of every read made of it. */
export interface RecordingFile extends RandomAccessFile {
  readonly reads: [number, number][];
}

/** `bytes` as a RandomAccessFile named `name` whose reads are recorded (and refused outside the bytes). */
export function memoryFile(bytes: Uint8Array, name: string): RecordingFile {
  const reads: [number, number][] = [];
  return {
    name,
    size: bytes.length,
    reads,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw new Error(`${name}: test file read outside its bytes: ${length} at ${offset}`);
      reads.push([offset, length]);
      return bytes.slice(offset, offset + length);
    },
  };
}
