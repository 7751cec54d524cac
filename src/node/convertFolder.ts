/**
 * The conversion's Node.js side: a diffusers checkpoint converted into a folder on disk, atomically.
 * The files are written into a temporary folder beside the destination
 * (`<parent>/.<name>.incomplete-<pid>-<random>`), which is renamed onto the destination only once
 * every file is written and flushed; on any failure (a full disk, an abort, Ctrl-C in the CLI, a bad
 * tensor) the temporary folder is removed, so the destination never holds half a model. Temporary
 * folders left by a process that died without cleaning up (killed) are removed by the next
 * conversion into the same parent, once their process is gone.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { convertPipeline, type ConvertOptions, type FileWriter, type ModelFolderSink, type WrittenFile } from "../convert/convertPipeline.js";
import type { RepoFile } from "../files/hub/repoFiles.js";
import { checkFolderPath, type ModelFileSource, type OpenedFile, type ReadOptions } from "../files/modelFileSource.js";
import { openRandomAccessFile } from "./randomAccessFile.js";

/**
 * A {@link ModelFolderSink} writing under the folder `root` (created as needed). Each file is
 * flushed to the disk (fsync) when closed, so that a folder renamed into place is whole.
 *
 * @example
 * ```ts
 * const sink = fileSystemSink("/tmp/out");
 * await sink.writeFile("model_index.json", bytes);
 * ```
 */
export function fileSystemSink(root: string): ModelFolderSink {
  const target = async (path: string): Promise<string> => {
    const file = join(root, ...checkFolderPath(path, "path").split("/"));
    await mkdir(dirname(file), { recursive: true });
    return file;
  };
  return {
    async writeFile(path: string, bytes: Uint8Array): Promise<void> {
      const writer = await this.openWriter(path);
      try {
        await writer.write(bytes);
      } finally {
        await writer.close();
      }
    },
    async openWriter(path: string): Promise<FileWriter> {
      const handle = await open(await target(path), "wx");
      let closed = false;
      return {
        async write(chunk: Uint8Array): Promise<void> {
          let at = 0;
          while (at < chunk.length) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
        },
        async close(): Promise<void> {
          if (closed) return;
          closed = true;
          try {
            await handle.sync();
          } finally {
            await handle.close();
          }
        },
      };
    },
  };
}

/** What {@link convertIntoFolder} does when the destination exists when its conversion is done. */
export type ExistingDestination =
  /** `--out`: an empty folder is replaced; a non-empty one is an error. */
  | "replace-empty"
  /** The conversion cache: another process converted the same model first, and its folder is used. */
  | "keep";

/** Options of {@link convertIntoFolder}: the conversion's, and a sink wrapper (tests simulate a full disk with it). */
export interface ConvertIntoFolderOptions extends ConvertOptions {
  /** Wraps the file-system sink of the temporary folder. */
  wrapSink?: (sink: ModelFolderSink) => ModelFolderSink;
}

/**
 * Converts the checkpoint `source` (listed in `listing`) into the folder `dest`, atomically (see the
 * module's comment). Returns the files written.
 *
 * @param existing - when `dest` exists at the end: "replace-empty" (an empty folder is replaced,
 *   anything else refused) or "keep" (the existing folder is kept: a concurrent conversion won).
 * @throws the conversion's errors, with nothing left behind; for "replace-empty", an Error naming
 *   `dest` when it is not empty.
 * @example
 * ```ts
 * const written = await convertIntoFolder(source, listing, "./ithq-onnx", "replace-empty", { variant: "fp16" });
 * ```
 */
export async function convertIntoFolder(
  source: ModelFileSource,
  listing: readonly RepoFile[],
  dest: string,
  existing: ExistingDestination,
  options: ConvertIntoFolderOptions = {},
): Promise<WrittenFile[]> {
  const parent = dirname(dest);
  await mkdir(parent, { recursive: true });
  await removeAbandoned(parent, basename(dest));
  const temp = join(parent, `.${basename(dest)}.incomplete-${process.pid}-${randomBytes(6).toString("hex")}`);
  await mkdir(temp);
  try {
    const { wrapSink, ...convertOptions } = options;
    const sink = fileSystemSink(temp);
    const written = await convertPipeline(source, listing, wrapSink ? wrapSink(sink) : sink, convertOptions);
    options.signal?.throwIfAborted();
    if (existing === "replace-empty") {
      // rename(2) replaces an empty folder and refuses a non-empty one (ENOTEMPTY / EEXIST).
      try {
        await rename(temp, dest);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOTEMPTY" || code === "EEXIST") throw new Error(`${dest}: expected an empty folder (or none) to write the model folder into, got a folder with files (written there while converting)`);
        throw e;
      }
    } else {
      try {
        await rename(temp, dest);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
        // Another process renamed its conversion first: the same model, converted the same way.
        await rm(temp, { recursive: true, force: true });
      }
    }
    return written;
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
}

/** Removes the `.<name>.incomplete-<pid>-*` folders in `parent` whose process is no longer running. */
async function removeAbandoned(parent: string, name: string): Promise<void> {
  const prefix = `.${name}.incomplete-`;
  for (const entry of await readdir(parent).catch(() => [] as string[])) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length).split("-")[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
    await rm(join(parent, entry), { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A file of a folder listing, with its modification time (for the conversion cache's fingerprint). */
export interface ListedLocalFile extends RepoFile {
  readonly mtimeMs: number;
}

/**
 * The files of the checkpoint folder `root`, as a listing: its own files and those of its
 * subfolders, one level down (diffusers' layout), links followed (a Hugging Face snapshot's files
 * are links to its blobs); nothing deeper is walked.
 *
 * @example
 * ```ts
 * await listCheckpointFolder("./vq-diffusion-ithq"); // [{ path: "model_index.json", size: 512, mtimeMs: … }, …]
 * ```
 */
export async function listCheckpointFolder(root: string): Promise<ListedLocalFile[]> {
  const out: ListedLocalFile[] = [];
  const visit = async (folder: string, prefix: string, depth: number): Promise<void> => {
    const entries = (await readdir(folder).catch(() => [] as string[])).sort();
    for (const entry of entries) {
      if (entry.startsWith(".")) continue;
      const info = await stat(join(folder, entry)).catch(() => null);
      if (info === null) continue;
      if (info.isFile()) out.push({ path: prefix + entry, size: info.size, mtimeMs: info.mtimeMs });
      else if (info.isDirectory() && depth === 0) await visit(join(folder, entry), `${entry}/`, 1);
    }
  };
  await visit(root, "", 0);
  return out;
}

/**
 * `source` with an `open` (when it has none) built on its `locate`: the file it locates is opened
 * by its path. For the Hub's cached files, where locating a listed file first downloads it.
 *
 * @example
 * ```ts
 * const readable = withOpen(hubSource);
 * const file = await readable.open!("vqvae/diffusion_pytorch_model.bin", { maxBytes: 2 ** 36 });
 * ```
 */
export function withOpen(source: ModelFileSource): ModelFileSource {
  if (source.open !== undefined || source.locate === undefined) return source;
  const locate = source.locate.bind(source);
  return {
    ...source,
    async open(path: string, options: ReadOptions): Promise<OpenedFile | null> {
      const found = await locate(path, options);
      return found === null ? null : openRandomAccessFile(found.path, path);
    },
  };
}

/**
 * Whether `dir` is absent or an empty folder (where `convert --out` may write).
 *
 * @example
 * ```ts
 * await isAbsentOrEmpty("./new-folder"); // true
 * ```
 */
export async function isAbsentOrEmpty(dir: string): Promise<boolean> {
  const info = await lstat(dir).catch(() => null);
  if (info === null) return true;
  if (!info.isDirectory()) return false;
  return (await readdir(dir)).length === 0;
}
