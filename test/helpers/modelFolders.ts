/**
 * Model folders for the loader tests: the pipeline-golden tiny-a folder with files replaced, in
 * memory (a ModelFileSource that records every path it reads) or copied to a temporary folder on disk.
 */
import { cp, mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { directorySource } from "../../src/node.js";
import { fileTooLarge, type ModelFileSource } from "../../src/files/modelFileSource.js";

export const TINY_A = new URL("../fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
export const EXTERNAL = new URL("../fixtures/external-data/", import.meta.url).pathname;

/** The external-data fixture's files, as paths of a model folder. */
export function externalDataFiles(): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const path of ["transformer/model.onnx", "transformer/model.onnx.data", "vqvae_decoder/model.onnx", "vqvae_decoder/weights/decoder.bin"]) {
    files[path] = new Uint8Array(readFileSync(EXTERNAL + path));
  }
  return files;
}

/** A source: tiny-a (or `base`) with `changes` (null: removed); `reads` records every path asked for. */
export function memoryFolder(changes: Record<string, Uint8Array | null>, base = TINY_A): ModelFileSource & { reads: string[] } {
  const disk = directorySource(base);
  const reads: string[] = [];
  return {
    location: "memory",
    reads,
    read: async (path, options) => {
      reads.push(path);
      if (!(path in changes)) return disk.read(path, options);
      const bytes = changes[path];
      if (bytes !== null && bytes.length > options.maxBytes) throw fileTooLarge(path, options.maxBytes, bytes.length);
      return bytes;
    },
  };
}

/** tiny-a copied to a new temporary folder, with `changes` written over it (null: removed). */
export async function diskFolder(changes: Record<string, Uint8Array | string | null>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vqd-folder-"));
  await cp(TINY_A, dir, { recursive: true });
  for (const [path, bytes] of Object.entries(changes)) {
    const file = join(dir, path);
    if (bytes === null) await rm(file, { force: true });
    else {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, bytes);
    }
  }
  return dir;
}

/** `bytes` with every occurrence of the ASCII string `from` replaced by `to`, of the same length (protobuf lengths stay right). */
export function replaceAscii(bytes: Uint8Array, from: string, to: string): Uint8Array {
  if (from.length !== to.length) throw new Error(`replaceAscii: expected strings of one length, got ${from.length} and ${to.length}`);
  const out = bytes.slice();
  const f = new TextEncoder().encode(from);
  const t = new TextEncoder().encode(to);
  let count = 0;
  for (let i = 0; i + f.length <= out.length; i++) {
    let match = true;
    for (let j = 0; j < f.length && match; j++) match = out[i + j] === f[j];
    if (match) {
      out.set(t, i);
      count++;
    }
  }
  if (count === 0) throw new Error(`replaceAscii: ${from} not found`);
  return out;
}
