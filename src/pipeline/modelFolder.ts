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
import { parseJsonObject, integerKey, hasComponent, type JsonObject } from "../files/json.js";
import { latentGrid } from "../files/latentGrid.js";
import { readFolderFile, type ModelFileSource } from "../files/modelFileSource.js";
import { LIMITS, PIPELINE_LIMITS } from "../limits.js";

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

/** Reads and parses a JSON object that must exist. */
export async function readJson(source: ModelFileSource, path: string, what: string): Promise<JsonObject> {
  return parseJsonObject(await readRequired(source, path, what, PIPELINE_LIMITS.maxJsonBytes), path);
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
  const { height, width } = latentGrid(transformer, tPath, (key, min, max) => integerKey(transformer, tPath, key, min, max));
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
