/**
 * `VQDiffusionPipeline` for Node.js: `fromPretrained(model)` reads a bundled model, a model folder from
 * disk or one served over HTTP, and runs it with onnxruntime-node (loaded on first use, so importing
 * `vq-diffusion/node` for the scheduler alone neither needs nor loads the native binding).
 */
import { access, open, realpath, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { argumentError } from "../errors.js";
import { HUB_OPTION_KEYS, type HubLoadOptions } from "../hub/hubSource.js";
import { checkOptionKeys, type OptionKeys } from "../optionKeys.js";
import { CONVERSION_CHOICE_KEYS } from "../convert/convertPipeline.js";
import { checkFolderPath, fileTooLarge, type LocalFile, type ModelFileSource, type OpenedFile, type ReadOptions } from "../pipeline/modelFolder.js";
import type { OrtModule, OrtSessionOptions } from "../pipeline/onnxComponent.js";
import type { WarningHandler } from "../pipeline/promptTokenizer.js";
import { VQDiffusionPipeline as CorePipeline, type PipelineComponents } from "../pipeline/vqDiffusionPipeline.js";
import { openRandomAccessFile } from "./randomAccessFile.js";
import { openConvertedModel, type ConversionLoadOptions } from "./conversionCache.js";
import { loadOnnxruntimeNode } from "./onnxruntimeNode.js";

/**
 * Options of {@link VQDiffusionPipeline.fromPretrained} in `vq-diffusion/node`. The Hub options
 * (`revision`, `cacheDir`, `hubUrl`, `accessToken`, `localFilesOnly`, `onProgress`, `signal`) apply
 * to a Hub model id (`org/name`) and default to the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE /
 * HF_HOME, HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE: docs/hub-and-cache.md). `variant`, `dtype` and `quantize`
 * apply to a diffusers checkpoint, which is converted on first use into the conversion cache
 * (docs/real-checkpoints.md); `onProgress` then also reports the conversion (status `"convert"`).
 */
export interface NodePipelineLoadOptions extends HubLoadOptions, ConversionLoadOptions {
  /** Another onnxruntime module (default: onnxruntime-node). */
  ort?: OrtModule;
  /**
   * Passed to every `InferenceSession.create` (its `externalData` is replaced by the model's own
   * external data files). `intraOpNumThreads` defaults to `os.availableParallelism()` (all cores, as
   * PyTorch uses them): onnxruntime-node's own default ran one thread on a 2-core machine here.
   */
  sessionOptions?: OrtSessionOptions;
  /** Receives warnings (loading, and the default of every `generate`'s: unknown words, cut prompts); see the core's load options. */
  onWarning?: WarningHandler;
}

const NODE_PIPELINE_LOAD_OPTION_KEYS = {
  ort: true, sessionOptions: true, onWarning: true, ...HUB_OPTION_KEYS, ...CONVERSION_CHOICE_KEYS,
} as const satisfies OptionKeys<NodePipelineLoadOptions>;

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

/**
 * @example
 * ```ts
 * import { VQDiffusionPipeline, TorchGenerator } from "vq-diffusion/node";
 * const pipe = await VQDiffusionPipeline.fromPretrained("fashion-mnist"); // the bundled model
 * const { images } = await pipe.generate({ prompt: "sneaker", generator: new TorchGenerator().manualSeed(0) });
 * ```
 */
export class VQDiffusionPipeline extends CorePipeline {
  /**
   * Loads a model with onnxruntime-node (or `options.ort`). What `pretrainedModelNameOrPath` names
   * follows one rule (`modelLocation`, docs/model-folder.md "Naming a model"): a folder path
   * (absolute, `./` or `../`, a `file:` URL, or any path of an existing folder: a folder comes
   * first, as in diffusers), a bundled model's name (`"fashion-mnist"`, found inside the package
   * whatever the working directory), an `http(s)://` URL of a folder, or
   * `org/name` (a Hugging Face Hub id: fetched into huggingface_hub's cache, shared with Python, then
   * read from there; `options` carry the revision, cache, mirror, token, offline switch, progress and
   * abort signal). A folder or a Hub repository holding a diffusers checkpoint (PyTorch or
   * safetensors weights, no `transformer/model.onnx`) is converted on first use into the conversion
   * cache beside huggingface_hub's (`options.variant` picks its weights files, `options.dtype` the
   * converted weights' type, `options.quantize: "int8"` int8 nn.Linear weights) and loaded from there afterwards (docs/real-checkpoints.md).
   *
   * @param pretrainedModelNameOrPath - as above; the folder is diffusers' layout with ONNX components (docs/model-folder.md).
   * @throws Error naming `pretrainedModelNameOrPath` when it names nothing loadable, or the file at fault.
   */
  static override async fromPretrained(pretrainedModelNameOrPath: string, options: NodePipelineLoadOptions = {}): Promise<VQDiffusionPipeline> {
    return loadNodePipeline(this, pretrainedModelNameOrPath, options, "pretrainedModelNameOrPath");
  }
}

/**
 * `fromPretrained` with the argument's name for messages (the CLI passes `--model`).
 *
 * @example
 * ```ts
 * const pipe = await loadNodePipeline(VQDiffusionPipeline, "fashion-mnist", {}, "--model");
 * ```
 */
export async function loadNodePipeline<P extends CorePipeline>(
  cls: typeof CorePipeline & (new (parts: PipelineComponents) => P),
  model: string,
  options: NodePipelineLoadOptions,
  name: string,
): Promise<P> {
  if (typeof options !== "object" || options === null) throw argumentError("options", "{ ort?, sessionOptions?, onWarning?, variant?, dtype?, quantize?, revision?, cacheDir?, hubUrl?, accessToken?, localFilesOnly?, onProgress?, signal? }", options);
  checkOptionKeys(options, "options", NODE_PIPELINE_LOAD_OPTION_KEYS);
  const { sessionOptions } = options;
  if (sessionOptions !== undefined && (typeof sessionOptions !== "object" || sessionOptions === null)) {
    throw argumentError("sessionOptions", "an object of onnxruntime session options", sessionOptions);
  }
  const { location, source, converted } = await openConvertedModel(model, options, name);
  if (converted === null && (location.kind === "bundled" || location.kind === "folder")) {
    // Named here as the argument (fromSource reads the index itself and would name the file).
    const present = await access(join(source.location, "model_index.json")).then(() => true, () => false);
    if (!present) {
      const what = await stat(source.location).then((s) => (s.isDirectory() ? "a folder without model_index.json" : "not a folder"), () => "no such folder");
      throw new Error(`${name}: expected a model folder holding model_index.json, got ${source.location} (${what})`);
    }
  }
  const ort: OrtModule = options.ort ?? (await loadOnnxruntimeNode());
  return cls.fromSource(source, ort, { intraOpNumThreads: availableParallelism(), ...sessionOptions }, options.onWarning);
}
