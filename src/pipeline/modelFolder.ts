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
import { LIMITS } from "../limits.js";

/** Where a model folder's files come from. */
export interface ModelFileSource {
  /** The folder's URL or path, for messages. */
  readonly location: string;
  /** The bytes of `path` ("/"-separated, relative to the folder), or null when the folder lacks it. */
  read(path: string): Promise<Uint8Array | null>;
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

/** Reads a file that must exist. */
export async function readRequired(source: ModelFileSource, path: string, what: string): Promise<Uint8Array> {
  const bytes = await source.read(path);
  if (bytes === null) throw new Error(`${path}: expected ${what} in the model folder ${source.location}, got no such file`);
  return bytes;
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
  return parseJsonObject(await readRequired(source, path, what), path);
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
  if (index.learned_classifier_free_sampling_embeddings !== undefined) {
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

  const textEncoder = index.text_encoder !== undefined;
  const tokenizer = index.tokenizer !== undefined;
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
  const base = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
  return {
    location: baseUrl,
    async read(path: string): Promise<Uint8Array | null> {
      const url = base + path;
      let response: Response;
      try {
        response = await fetchFn(url);
      } catch (e) {
        throw new Error(`${path}: fetching ${url} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`${path}: expected ${url} to be served, got HTTP ${response.status} ${response.statusText}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}
