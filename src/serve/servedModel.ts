/**
 * What a server needs to know of its model to check requests, read from the model folder's configs
 * alone (no ONNX session is created: with `--redis` the server only queues, and ITHQ's weights would
 * cost it gigabytes for nothing): T, and the images' size.
 *
 * The size is diffusers' `VQModel`'s: the decoder upsamples the latent grid (height × width, from
 * the transformer's config) once per block after the first, each ×2, so an image is
 * `height · 2^(len(block_out_channels) − 1)` pixels high (ITHQ: 32 · 2³ = 256; the bundled model:
 * 7 · 2² = 28). The job runner checks the decoded images against it.
 */
import { configInts } from "../convert/configValues.js";
import { readJson, readPipelineConfig } from "../pipeline/modelFolder.js";
import { type ModelFileSource } from "../files/modelFileSource.js";
import type { ServedModel } from "./imagesRequest.js";

/**
 * Reads a model folder's configs into the {@link ServedModel} requests are checked against.
 *
 * @param id - what the server's `--model` named (the `model` of requests and jobs).
 * @param revision - the Hub revision, or null.
 * @throws Error naming the file and key at fault (a folder without a text encoder: `model_index.json`,
 *   as a server takes prompts).
 *
 * @example
 * ```ts
 * const { source } = await openModelSource("fashion-mnist", {}, "--model");
 * await readServedModel(source, "fashion-mnist", null); // { id: "fashion-mnist", width: 28, height: 28, numTrainTimesteps: 100, ... }
 * ```
 */
export async function readServedModel(source: ModelFileSource, id: string, revision: string | null): Promise<ServedModel> {
  const { config, hasTextEncoder } = await readPipelineConfig(source);
  if (!hasTextEncoder) {
    throw new Error(`model_index.json: expected text_encoder and tokenizer (the server takes prompts), got a model folder without them (${source.location})`);
  }
  const path = "vqvae/config.json";
  const blocks = configInts(await readJson(source, path, "the VQ-VAE's config"), path, "block_out_channels", 1, 1 << 16);
  if (blocks.length > 8) throw new Error(`${path}: "block_out_channels": expected at most 8 blocks (×128 upsampling), got ${blocks.length}`);
  const factor = 2 ** (blocks.length - 1);
  return { id, revision, width: config.width * factor, height: config.height * factor, numTrainTimesteps: config.numTrainTimesteps };
}
