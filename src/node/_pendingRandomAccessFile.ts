/**
 * STAND-IN, TO BE DELETED: src/node/randomAccessFile.ts (`openRandomAccessFile(path, name)`) is
 * written on the formats branch. Until it is merged, the directory source opens files with this
 * minimal version of the same signature.
 */
import { open } from "node:fs/promises";
import type { OpenedFile } from "../pipeline/modelFolder.js";

/** Opens `path` for reads by offset; `name` names it in messages. */
export async function openRandomAccessFile(path: string, name: string): Promise<OpenedFile> {
  const handle = await open(path, "r");
  const { size } = await handle.stat();
  return {
    name,
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new Error(`${name}: expected a read inside the file's ${size} bytes, got ${length} bytes at offset ${offset}`);
      }
      const out = new Uint8Array(length);
      let at = 0;
      while (at < length) {
        const { bytesRead } = await handle.read(out, at, length - at, offset + at);
        if (bytesRead === 0) throw new Error(`${name}: expected ${length} bytes at offset ${offset}, got ${at}: the file ended early`);
        at += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}
