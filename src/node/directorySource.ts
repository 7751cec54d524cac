/**
 * A model folder on this machine's disk as a {@link ModelFileSource} (the Node.js implementation of the
 * model files layer): bounded reads, located files for onnxruntime to map, and random access for the
 * converter, never outside the folder.
 */
import { open, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { argumentError } from "../errors.js";
import { checkFolderPath, fileTooLarge, type LocalFile, type ModelFileSource, type OpenedFile, type ReadOptions } from "../files/modelFileSource.js";
import { openRandomAccessFile } from "./randomAccessFile.js";

/** Reads are done in pieces of this size (Node's readFile stops at 2 GiB; external data files go past it). */
const CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * A model folder on disk, as a {@link ModelFileSource}: it reads nothing outside the folder. A path
 * must pass `checkFolderPath`; its real path (symbolic links resolved) must lie inside the folder's
 * real path, or, for a snapshot folder of the Hugging Face cache (`…/models--org--name/snapshots/REV`,
 * whose files are links to `../../blobs/…`), inside that repository's `blobs` folder. It must be a
 * regular file (not a folder, FIFO or device) of at most `maxBytes` bytes, checked before reading.
 * A missing file reads as absent (null); any other failure is an Error naming the path. It also
 * `locate`s files (the same checks, nothing read), so that onnxruntime-node opens a model with
 * external data itself and maps its weights instead of copying them, and `open`s them (the same
 * checks) for the converter to read a checkpoint's weights by offset.
 *
 * @example
 * ```ts
 * const source = directorySource("models/fashion-mnist");
 * const index = await source.read("model_index.json", { maxBytes: 1 << 20 });
 * ```
 */
export function directorySource(dir: string): ModelFileSource {
  if (typeof dir !== "string" || dir === "") throw argumentError("dir", "a model folder path", dir);
  const root = resolve(dir);
  let allowed: Promise<string[]> | undefined;
  const allowedRoots = (): Promise<string[]> =>
    (allowed ??= realpath(root).then(
      (real) => {
        const repo = dirname(dirname(real));
        const snapshot = basename(dirname(real)) === "snapshots" && basename(repo).startsWith("models--");
        return snapshot ? [real, join(repo, "blobs")] : [real];
      },
      () => [root],
    ));
  return {
    location: root,
    async read(path: string, { maxBytes }: ReadOptions): Promise<Uint8Array | null> {
      const found = await check(path, maxBytes);
      return found === null ? null : guard(path, found.file, () => readWhole(found.real, found.size, path));
    },
    async locate(path: string, { maxBytes }: ReadOptions): Promise<LocalFile | null> {
      const found = await check(path, maxBytes);
      return found === null ? null : { path: found.file, size: found.size };
    },
    async open(path: string, { maxBytes }: ReadOptions): Promise<OpenedFile | null> {
      const found = await check(path, maxBytes);
      return found === null ? null : guard(path, found.file, () => openRandomAccessFile(found.real, path));
    },
  };

  /** The checks of every read: a path inside the folder, a real path inside it, a regular file within the bound. */
  async function check(path: string, maxBytes: number): Promise<{ file: string; real: string; size: number } | null> {
    checkFolderPath(path, "path");
    const file = join(root, ...path.split("/"));
    let real: string;
    try {
      real = await realpath(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw new Error(`${path}: reading ${file} failed (${code ?? "error"}): ${(e as Error).message}`, { cause: e });
    }
    if (!(await allowedRoots()).some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep))) {
      throw new Error(`${path}: expected a file inside the model folder ${root}, got a link to ${real}`);
    }
    const info = await guard(path, file, () => stat(real));
    if (!info.isFile()) throw new Error(`${path}: expected a regular file, got ${info.isDirectory() ? "a folder" : "a special file"} (${file})`);
    if (info.size > maxBytes) throw fileTooLarge(path, maxBytes, info.size);
    return { file, real, size: info.size };
  }
}

/** Runs a file-system call; its failure becomes an Error naming the folder's path (ours pass through). */
async function guard<T>(path: string, file: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if ((e as Error).message?.startsWith(`${path}: `)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: reading ${file} failed (${code ?? "error"}): ${(e as Error).message}`, { cause: e });
  }
}

/** Reads exactly `size` bytes of `file`, in pieces (any size, past readFile's 2 GiB). */
async function readWhole(file: string, size: number, path: string): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  const handle = await open(file, "r");
  try {
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(out, at, Math.min(CHUNK_BYTES, size - at), at);
      if (bytesRead === 0) throw new Error(`${path}: expected ${size} bytes (its size when opened), got ${at}: the file shrank while read`);
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return out;
}
