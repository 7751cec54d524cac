/**
 * A Hub repository's file listing, as data from strangers: every path is checked before it is joined
 * onto a cache folder, every declared size is bounded, and the pipeline's files are picked from it
 * (docs/model-folder.md: configs, ONNX models and their external data, the tokenizer, the null embeddings),
 * never a checkpoint's PyTorch weights.
 */
import { describe } from "../../errors.js";

/** One file of a repository at a commit. */
export interface RepoFile {
  /** "/"-separated, relative to the repository's root; checked by {@link checkRepoFilePath}. */
  readonly path: string;
  /** Bytes, as the listing declares (bounded by {@link HUB_LIMITS.maxFileBytes}). */
  readonly size: number;
}

/**
 * Bounds on what a Hub server's answers may declare.
 *
 * @example
 * ```ts
 * const fits = (bytes: number) => bytes <= HUB_LIMITS.maxFileBytes;
 * ```
 */
export const HUB_LIMITS = {
  /** One file (an ONNX external-data file of a large transformer is a few GB). */
  maxFileBytes: 64 * 1024 ** 3,
  /** The files one load fetches, together. */
  maxTotalBytes: 256 * 1024 ** 3,
  /** Entries of a repository's listing. */
  maxListingEntries: 100_000,
  /** One JSON answer of the API (revision info, one page of a listing). */
  maxApiResponseBytes: 32 * 1024 * 1024,
  /** A file path in a repository. */
  maxPathLength: 1_024,
} as const;

/**
 * Checks that `path` names a file inside the repository (and so inside the cache folder it lands
 * in): relative, "/"-separated, no empty, `.` or `..` segment, no backslash, NUL or other control
 * character, no segment starting with a drive (`C:`). Throws naming `where` (e.g. the listing's URL) and the path.
 *
 * @example
 * ```ts
 * checkRepoFilePath("transformer/model.onnx", "the listing"); // returns it
 * checkRepoFilePath("../../etc/passwd", "the listing");       // throws
 * ```
 */
export function checkRepoFilePath(path: unknown, where: string): string {
  const bad =
    typeof path !== "string" ||
    path.length === 0 ||
    path.length > HUB_LIMITS.maxPathLength ||
    path.startsWith("/") ||
    /[\\\u0000-\u001f\u007f]/.test(path) ||
    path.split("/").some((s) => s === "" || s === "." || s === ".." || /^[A-Za-z]:/.test(s));
  if (bad) {
    throw new Error(
      `${where}: expected a file path inside the repository (relative, "/"-separated, no "..", "." or empty segment, no backslash, NUL or control character, no drive such as C:, at most ${HUB_LIMITS.maxPathLength} characters), got ${describe(path)}`,
    );
  }
  return path as string;
}

/**
 * Checks a declared size: an integer in [0, {@link HUB_LIMITS.maxFileBytes}]; throws naming `where` and the path.
 *
 * @example
 * ```ts
 * checkFileSize(1024, "transformer/model.onnx", "the listing"); // 1024
 * ```
 */
export function checkFileSize(size: unknown, path: string, where: string): number {
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 || size > HUB_LIMITS.maxFileBytes) {
    throw new Error(`${where}: expected the size of ${path} to be an integer number of bytes in [0, ${HUB_LIMITS.maxFileBytes}], got ${describe(size)}`);
  }
  return size;
}

/** Component folders that hold an ONNX model of the pipeline. */
const ONNX_FOLDERS = ["transformer", "vqvae_decoder", "text_encoder"];

/** The fixed files the pipeline reads (those present in the listing are fetched). */
const PIPELINE_FILES = [
  "model_index.json",
  "scheduler/scheduler_config.json",
  "transformer/config.json",
  "vqvae/config.json",
  "learned_classifier_free_sampling_embeddings/config.json",
  "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors",
  "tokenizer/tokenizer.json",
  "tokenizer/tokenizer_config.json",
  ...ONNX_FOLDERS.map((f) => `${f}/model.onnx`),
];

/**
 * The external-data files an exporter writes beside `model.onnx` (`model.onnx_data`, `model.onnx.data`,
 * numbered shards): fetched with the model up front. A model naming other data files gets them on
 * demand, when the loader asks for them.
 */
function isExternalDataName(path: string): boolean {
  const slash = path.indexOf("/");
  return slash > 0 && ONNX_FOLDERS.includes(path.slice(0, slash)) && /^model\.onnx[._]data(?:[._-]?\d+)?$/.test(path.slice(slash + 1));
}

/**
 * The files of `listing` the pipeline needs, in the listing's order: the fixed files of docs/model-folder.md
 * that are present, and the ONNX models' usual external-data files. PyTorch weights (`*.bin`,
 * `*.pt`, a transformer's `.safetensors`), README files, other ONNX variants are left out.
 *
 * @example
 * ```ts
 * pipelineFiles([{ path: "transformer/model.onnx", size: 5 }, { path: "transformer/diffusion_pytorch_model.bin", size: 9 }]);
 * // [{ path: "transformer/model.onnx", size: 5 }]
 * ```
 */
export function pipelineFiles(listing: readonly RepoFile[]): RepoFile[] {
  return listing.filter((f) => PIPELINE_FILES.includes(f.path) || isExternalDataName(f.path));
}
