/**
 * The model folder of docs/model-folder.md (diffusers' layout with ONNX components), read through a
 * {@link ModelFileSource}: URLs with `fetch` in the core, the file system in `vq-diffusion/node`.
 *
 *   model_index.json                                   components, as [library, class]
 *   scheduler/scheduler_config.json                    K = num_vec_classes, T = num_train_timesteps
 *   transformer/config.json                            num_vector_embeds (= K), sample_size or height/width
 *                                                      (N = height·width), cross_attention_dim (= D),
 *                                                      num_embeds_ada_norm (= T)
 *   transformer/model.onnx, vqvae/config.json, vqvae_decoder/model.onnx
 *   learned_classifier_free_sampling_embeddings/config.json (+ .safetensors when learnable): [L, D]
 *   text_encoder/model.onnx, tokenizer/tokenizer.json + tokenizer_config.json (optional, together)
 *
 * Every size read from a file is untrusted: it is checked against {@link PIPELINE_LIMITS} and against
 * the other files before anything is allocated from it.
 */
import { describe } from "../errors.js";
import type { RandomAccessFile } from "../formats/checkpointTensor.js";
import { LIMITS } from "../limits.js";
import { isTypedArray } from "../tensor/validate.js";

/** Options of {@link ModelFileSource.read}. */
export interface ReadOptions {
  /** The largest file accepted, in bytes: a larger file is refused before it is read (or allocated) whole. */
  readonly maxBytes: number;
}

/**
 * Where a model folder's files come from: the one abstraction every loader reads through (URLs with
 * `fetch` in the core, the file system in `vq-diffusion/node`, memory in tests). A source reads a
 * file named relative to the folder, within a byte bound, and nothing else:
 * - `path` is "/"-separated and relative to the folder, and has already passed
 *   {@link checkFolderPath} (no absolute path, `..`, `.`, empty segment, backslash, colon or NUL);
 * - a source never reaches outside its folder, whatever the path or the folder holds (a file system
 *   source resolves symbolic links and refuses a target outside the folder; a URL source encodes each
 *   segment, so `?`, `#` or `%` in a name stay part of the name);
 * - a file larger than `options.maxBytes` is an Error naming `path`, thrown before the file is read
 *   whole; any other failure is an Error naming `path` too. A file the folder lacks is null.
 *
 * @example
 * ```ts
 * const memory = new Map<string, Uint8Array>([["model_index.json", new TextEncoder().encode("{}")]]);
 * const source: ModelFileSource = {
 *   location: "memory",
 *   async read(path, { maxBytes }) {
 *     const bytes = memory.get(path) ?? null;
 *     if (bytes !== null && bytes.length > maxBytes) throw fileTooLarge(path, maxBytes, bytes.length);
 *     return bytes;
 *   },
 * };
 * ```
 */
export interface ModelFileSource {
  /** The folder's URL or path, for messages. */
  readonly location: string;
  /** The bytes of `path`, or null when the folder lacks it (see the interface's rules). */
  read(path: string, options: ReadOptions): Promise<Uint8Array | null>;
  /**
   * Optional, for sources on this machine's file system: where `path` lies, after the same checks
   * as `read` (inside the folder, a regular file, at most `maxBytes`), without reading it; null when
   * the folder lacks it. With it, an ONNX model with external data is opened by onnxruntime from its
   * path, which maps the weights instead of copying them into JavaScript and then into the session
   * (so the `ort` given must open local files: onnxruntime-node).
   */
  locate?(path: string, options: ReadOptions): Promise<LocalFile | null>;
  /**
   * Optional, for sources whose files can be read at any offset (a folder on disk, the Hub's cached
   * files): `path` opened for reading by offset, after the same checks as `read` (its size at most
   * `maxBytes`), without reading it whole; null when the folder lacks it. The converter reads a
   * checkpoint's weights through it, one tensor at a time. The caller closes what it opened.
   */
  open?(path: string, options: ReadOptions): Promise<OpenedFile | null>;
}

/**
 * A file of a model folder opened by {@link ModelFileSource.open}: read at any offset, then closed.
 *
 * @example
 * ```ts
 * const file = await source.open!("transformer/diffusion_pytorch_model.safetensors", { maxBytes: 2 ** 36 });
 * try { const head = await file!.read(0, 8); } finally { await file!.close(); }
 * ```
 */
export interface OpenedFile extends RandomAccessFile {
  /** Releases the file (its handle); reads after it fail. */
  close(): Promise<void>;
}

/** A file of a model folder on this machine (see {@link ModelFileSource.locate}). */
export interface LocalFile {
  /** The path to open, as the folder names it (links not resolved: a runtime finds a model's external data beside it). */
  readonly path: string;
  /** Its size in bytes. */
  readonly size: number;
}

/**
 * The Error of a source for a file over its byte bound.
 *
 * @example
 * ```ts
 * fileTooLarge("transformer/config.json", 1024, 5000).message;
 * // "transformer/config.json: expected a file of at most 1024 bytes, got 5000 bytes"
 * ```
 */
export function fileTooLarge(path: string, maxBytes: number, size: number): Error {
  return new Error(`${path}: expected a file of at most ${maxBytes} bytes, got ${size} bytes`);
}

/**
 * Checks that `path` names a file inside a model folder: relative, "/"-separated, each segment
 * non-empty and neither `.` nor `..`, without backslash, colon (a drive or a URL scheme) or NUL.
 * Returns `path`; throws `<name>: expected …, got <path>` otherwise.
 *
 * @param name - what the path is, for the message (e.g. `transformer/model.onnx: external data location`).
 *
 * @example
 * ```ts
 * checkFolderPath("transformer/model.onnx.data", "location"); // "transformer/model.onnx.data"
 * checkFolderPath("../secret", "location"); // throws: location: expected a path inside the model folder …, got "../secret"
 * ```
 */
export function checkFolderPath(path: unknown, name: string): string {
  const ok =
    typeof path === "string" &&
    path.length > 0 &&
    path.length <= 4096 &&
    !/[\\:\0]/.test(path) &&
    path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
  if (!ok) {
    throw new Error(
      `${name}: expected a path inside the model folder (relative, "/"-separated, no "..", ".", empty segment, backslash, colon or NUL), got ${typeof path === "string" ? JSON.stringify(path) : describe(path)}`,
    );
  }
  return path;
}

/**
 * Locates `path` with `source.locate` within `maxBytes` (the path checked first), or null when the
 * folder lacks it. For sources that have `locate` only.
 */
export async function locateFolderFile(source: ModelFileSource, path: string, maxBytes: number): Promise<LocalFile | null> {
  checkFolderPath(path, "path");
  if (source.locate === undefined) throw new Error(`${path}: expected a model folder on this machine's file system, got ${source.location}`);
  const found = await source.locate(path, { maxBytes });
  if (found !== null && found.size > maxBytes) {
    throw new Error(`${path}: expected the model folder's source to refuse a file over ${maxBytes} bytes, got ${found.size} bytes located`);
  }
  return found;
}

/**
 * Reads `path` from `source` within `maxBytes`: the path checked first ({@link checkFolderPath}),
 * then the bound enforced again on what came back (for a source that does not).
 */
export async function readFolderFile(source: ModelFileSource, path: string, maxBytes: number): Promise<Uint8Array | null> {
  checkFolderPath(path, "path");
  const bytes = await source.read(path, { maxBytes });
  if (bytes === null) return null;
  if (!isTypedArray(bytes, "Uint8Array")) throw new Error(`${path}: expected the model folder's source to return a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length > maxBytes) {
    throw new Error(`${path}: expected the model folder's source to refuse a file over ${maxBytes} bytes before reading it, got ${bytes.length} bytes read`);
  }
  return bytes;
}

/**
 * Bounds on the sizes only a model folder has, beside the package's `LIMITS` (K, N, T), which bound
 * those read here too. They admit the published ITHQ model (L = 77, D = 512) with room of 16× or
 * more, and refuse the sizes that would only exhaust memory.
 */
export const PIPELINE_LIMITS = {
  /** L, prompt tokens. */
  maxSequenceLength: 4_096,
  /** D, the prompt embedding's width. */
  maxEmbeddingDim: 16_384,
  /** B = prompts × images per prompt, in one generation (the transformer's output is [2B, K-1, N] floats). */
  maxBatch: 1_024,
  /** A JSON file of the folder (configs, model_index.json, tokenizer files). */
  maxJsonBytes: 64 * 1024 * 1024,
  /** A safetensors file (the null embeddings: L·D floats and a header). */
  maxSafetensorsBytes: 1024 * 1024 * 1024,
  /** An `.onnx` file (protobuf's own limit is 2 GiB; larger weights go in external data files). */
  maxOnnxBytes: 2 ** 31 - 1,
  /** The bytes one ONNX model places in external data files, all files together (ITHQ's transformer: 5.4 GB in fp32). */
  maxExternalDataBytes: 2 ** 37,
  /** External data files of one ONNX model (torch's exporter writes one per weight: 1 087 for ITHQ). */
  maxExternalDataFiles: 65_536,
} as const;

/** What the folder's configs say, checked for agreement. */
export interface PipelineConfig {
  /** K, classes including the mask (the transformer outputs K − 1). */
  readonly numVecClasses: number;
  /** The latent grid: N = height · width. */
  readonly height: number;
  readonly width: number;
  readonly numLatentPixels: number;
  /** T. */
  readonly numTrainTimesteps: number;
  /** D, the width of a prompt embedding. */
  readonly crossAttentionDim: number;
  /** L, prompt tokens (the null embeddings' length, or the tokenizer's model_max_length). */
  readonly sequenceLength: number;
  /** Whether the negative prompt of guidance is the learned [L, D] embedding (else the encoded ""). */
  readonly learnable: boolean;
}

/** A JSON object read from the folder. */
export type JsonObject = Record<string, unknown>;

/** Reads a file that must exist, of at most `maxBytes` bytes. */
export async function readRequired(source: ModelFileSource, path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  const bytes = await readFolderFile(source, path, maxBytes);
  if (bytes === null) throw new Error(`${path}: expected ${what} in the model folder ${source.location}, got no such file${await unexportedHint(source)}`);
  return bytes;
}

/**
 * When a folder on this machine is a diffusers checkpoint not converted to ONNX (PyTorch weights
 * where `transformer/model.onnx` should be; vq-diffusion/node converts such a folder before it gets
 * here, so this is for other loaders of a local source), the words that say so and how to convert
 * it, for the message of its first missing file; "" otherwise, for sources without `locate` (nothing is fetched to find out), and
 * when looking fails. Only located, never read.
 */
async function unexportedHint(source: ModelFileSource): Promise<string> {
  if (source.locate === undefined) return "";
  const any = { maxBytes: Number.MAX_SAFE_INTEGER };
  try {
    if ((await source.locate("transformer/model.onnx", any)) !== null) return "";
    for (const weights of ["transformer/diffusion_pytorch_model.safetensors", "transformer/diffusion_pytorch_model.bin"]) {
      if ((await source.locate(weights, any)) !== null) {
        return (
          ` (the folder is a diffusers checkpoint: ${weights}, no transformer/model.onnx; vq-diffusion/node's fromPretrained ` +
          `converts it on first use, or convert it once with \`npx vq-diffusion convert --model DIR --out DIR2\`: docs/real-checkpoints.md)`
        );
      }
    }
  } catch {
    // A path the source refuses to locate says nothing more than the missing file already does.
  }
  return "";
}

/** Parses a JSON object from `bytes`, bounded by {@link PIPELINE_LIMITS.maxJsonBytes}. */
export function parseJsonObject(bytes: Uint8Array, path: string): JsonObject {
  if (bytes.length > PIPELINE_LIMITS.maxJsonBytes) {
    throw new Error(`${path}: expected a JSON file of at most ${PIPELINE_LIMITS.maxJsonBytes} bytes, got ${bytes.length}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${path}: expected JSON, got a parse error: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${path}: expected a JSON object, got ${describe(value)}`);
  return value as JsonObject;
}

/** Reads and parses a JSON object that must exist. */
export async function readJson(source: ModelFileSource, path: string, what: string): Promise<JsonObject> {
  return parseJsonObject(await readRequired(source, path, what, PIPELINE_LIMITS.maxJsonBytes), path);
}

/** The integer at `json[key]`, in [min, max]; the error names the file and the key. */
export function integerKey(json: JsonObject, path: string, key: string, min: number, max: number): number {
  const v = json[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${path}: expected key ${key} to be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

/**
 * Whether model_index.json lists component `name`: [library, class] (two strings). A missing key and
 * `[null, null]`, which is how diffusers saves a pipeline without that component, both mean absent;
 * anything else is an Error naming the file and the key.
 *
 * @example
 * ```ts
 * hasComponent({ tokenizer: [null, null] }, "tokenizer"); // false
 * hasComponent({ tokenizer: ["transformers", "CLIPTokenizer"] }, "tokenizer"); // true
 * ```
 */
export function hasComponent(index: JsonObject, name: string): boolean {
  const entry = index[name];
  if (entry === undefined || (Array.isArray(entry) && entry.length === 2 && entry[0] === null && entry[1] === null)) return false;
  if (Array.isArray(entry) && entry.length === 2 && entry.every((s) => typeof s === "string")) return true;
  throw new Error(`model_index.json: expected key ${name} to be [library, class] (or [null, null]: absent), got ${describe(entry)}`);
}

/**
 * Reads model_index.json and the configs, checks that they agree, and returns the sizes.
 * The scheduler's config is returned as read, for `VQDiffusionScheduler.fromConfig`.
 */
export async function readPipelineConfig(source: ModelFileSource): Promise<{
  config: PipelineConfig;
  index: JsonObject;
  schedulerJson: JsonObject;
  hasTextEncoder: boolean;
}> {
  const L = { ...LIMITS, ...PIPELINE_LIMITS };
  const index = await readJson(source, "model_index.json", "the pipeline's index (model_index.json)");
  for (const name of ["scheduler", "transformer", "vqvae"]) {
    const entry = index[name];
    if (!Array.isArray(entry) || entry.length !== 2 || !entry.every((s) => typeof s === "string")) {
      throw new Error(`model_index.json: expected key ${name} to be [library, class], got ${describe(entry)}`);
    }
  }
  const schedulerJson = await readJson(source, "scheduler/scheduler_config.json", "the scheduler's config");
  const schedulerK = integerKey(schedulerJson, "scheduler/scheduler_config.json", "num_vec_classes", 2, L.maxNumVecClasses);
  const schedulerT = integerKey(schedulerJson, "scheduler/scheduler_config.json", "num_train_timesteps", 2, L.maxNumTrainTimesteps);

  const tPath = "transformer/config.json";
  const transformer = await readJson(source, tPath, "the transformer's config");
  const K = integerKey(transformer, tPath, "num_vector_embeds", 2, L.maxNumVecClasses);
  if (K !== schedulerK) throw new Error(`${tPath}: expected num_vector_embeds = the scheduler's num_vec_classes = ${schedulerK}, got ${K}`);
  const T = integerKey(transformer, tPath, "num_embeds_ada_norm", 1, L.maxNumTrainTimesteps);
  if (T !== schedulerT) throw new Error(`${tPath}: expected num_embeds_ada_norm = the scheduler's num_train_timesteps = ${schedulerT}, got ${T}`);
  const D = integerKey(transformer, tPath, "cross_attention_dim", 1, L.maxEmbeddingDim);
  let height: number;
  let width: number;
  if (transformer.height !== undefined || transformer.width !== undefined) {
    height = integerKey(transformer, tPath, "height", 1, L.maxLatentPixels);
    width = integerKey(transformer, tPath, "width", 1, L.maxLatentPixels);
  } else {
    height = width = integerKey(transformer, tPath, "sample_size", 1, Math.floor(Math.sqrt(L.maxLatentPixels)));
  }
  if (height * width > L.maxLatentPixels) {
    throw new Error(`${tPath}: expected height · width <= ${L.maxLatentPixels} latent pixels, got ${height} · ${width} = ${height * width}`);
  }
  await readJson(source, "vqvae/config.json", "the VQ-VAE's config");

  let learnable = false;
  let length: number | null = null;
  if (hasComponent(index, "learned_classifier_free_sampling_embeddings")) {
    const ePath = "learned_classifier_free_sampling_embeddings/config.json";
    const emb = await readJson(source, ePath, "the null embeddings' config");
    if (typeof emb.learnable !== "boolean") throw new Error(`${ePath}: expected key learnable to be true or false, got ${describe(emb.learnable)}`);
    learnable = emb.learnable;
    if (learnable) {
      const hidden = integerKey(emb, ePath, "hidden_size", 1, L.maxEmbeddingDim);
      if (hidden !== D) throw new Error(`${ePath}: expected hidden_size = the transformer's cross_attention_dim = ${D}, got ${hidden}`);
      length = integerKey(emb, ePath, "length", 1, L.maxSequenceLength);
    }
  }

  const textEncoder = hasComponent(index, "text_encoder");
  const tokenizer = hasComponent(index, "tokenizer");
  if (textEncoder !== tokenizer) {
    throw new Error(`model_index.json: expected text_encoder and tokenizer together (or neither), got only ${textEncoder ? "text_encoder" : "tokenizer"}`);
  }
  if (tokenizer) {
    const cPath = "tokenizer/tokenizer_config.json";
    const tc = await readJson(source, cPath, "the tokenizer's config");
    const maxLength = integerKey(tc, cPath, "model_max_length", 1, L.maxSequenceLength);
    if (length !== null && maxLength !== length) {
      throw new Error(`${cPath}: expected model_max_length = the null embeddings' length = ${length}, got ${maxLength}`);
    }
    length = maxLength;
  }
  if (length === null) {
    throw new Error(`model_index.json: expected learnable null embeddings or a tokenizer (either gives the prompt length L), got neither`);
  }
  return {
    config: { numVecClasses: K, height, width, numLatentPixels: height * width, numTrainTimesteps: T, crossAttentionDim: D, sequenceLength: length, learnable },
    index,
    schedulerJson,
    hasTextEncoder: textEncoder,
  };
}

/**
 * A source that fetches `<baseUrl>/<path>`; a 404 means the file is absent.
 *
 * @example
 * ```ts
 * const source = urlSource("/models/fashion-mnist");
 * const bytes = await source.read("model_index.json");
 * ```
 */
export function urlSource(baseUrl: string, fetchFn: typeof fetch = globalThis.fetch): ModelFileSource {
  if (typeof baseUrl !== "string" || baseUrl === "") throw new Error(`baseUrl: expected the model folder's URL, got ${describe(baseUrl)}`);
  if (typeof fetchFn !== "function") throw new Error(`fetch: expected a fetch function (none is global here), got ${describe(fetchFn)}`);
  // A relative URL resolves against the page; where there is none (Node.js, Deno), fetch would fail
  // later with the runtime's own words ("Failed to parse URL"), so say it here.
  const page = (globalThis as { location?: { href?: unknown } }).location?.href;
  if (typeof page !== "string" && !URL.canParse(baseUrl)) {
    throw new Error(
      `baseUrl: expected an absolute URL (https://…) where there is no page to resolve a relative one against ` +
        `(in Node.js, vq-diffusion/node's fromPretrained loads a folder from disk), got ${describe(baseUrl)}`,
    );
  }
  const base = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
  return {
    location: baseUrl,
    async read(path: string, { maxBytes }: ReadOptions): Promise<Uint8Array | null> {
      // Each segment encoded: a name's "?", "#" or "%" stays in the name; checkFolderPath already refused "..".
      const url = base + checkFolderPath(path, "path").split("/").map(encodeURIComponent).join("/");
      let response: Response;
      try {
        response = await fetchFn(url);
      } catch (e) {
        throw new Error(`${path}: fetching ${url} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`${path}: expected ${url} to be served, got HTTP ${response.status} ${response.statusText}`);
      return readBody(response, path, maxBytes);
    },
  };
}

/** A model file's body, refused past `maxBytes` with the folder's messages (see {@link readBoundedBody}). */
function readBody(response: Response, path: string, maxBytes: number): Promise<Uint8Array> {
  return readBoundedBody(response, maxBytes, (got) =>
    got === null ? new Error(`${path}: expected a file of at most ${maxBytes} bytes, got more`) : fileTooLarge(path, maxBytes, got),
  );
}

/**
 * A response's whole body, refused past `maxBytes`: by its Content-Length before reading, else while
 * streaming (the reader is cancelled at the first byte past the bound). `tooLarge(got)` makes the
 * error: `got` is the declared or read length, or null when a stream went past the bound.
 *
 * @example
 * ```ts
 * const bytes = await readBoundedBody(new Response("{}"), 1024, () => new Error("too large")); // Uint8Array [123, 125]
 * ```
 */
export async function readBoundedBody(response: Response, maxBytes: number, tooLarge: (got: number | null) => Error): Promise<Uint8Array> {
  const declared = Number(response.headers?.get?.("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  const reader = response.body?.getReader();
  if (reader === undefined) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > maxBytes) throw tooLarge(bytes.length);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(null);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
