/**
 * The conversion of a diffusers `VQDiffusionPipeline` checkpoint (PyTorch or safetensors weights) to
 * the model folder of docs/model-folder.md (ONNX networks), in one loop over a declarative table of
 * components, after the fashion of optimum's exporters (one configuration per component, one loop,
 * one check):
 *
 *   | checkpoint folder                                  | written                                     |
 *   | model_index.json, scheduler/scheduler_config.json  | the same files                              |
 *   | text_encoder/ (CLIPTextModel)                      | text_encoder/config.json, model.onnx(+.data) |
 *   | transformer/ (Transformer2DModel)                  | transformer/config.json, model.onnx(+.data)  |
 *   | vqvae/ (VQModel)                                   | vqvae/config.json, vqvae_decoder/model.onnx(+.data) |
 *   | tokenizer/ (tokenizer.json, or vocab.json + merges.txt) | tokenizer/tokenizer.json, tokenizer_config.json |
 *   | learned_classifier_free_sampling_embeddings/      | config.json (+ the F32 `embeddings` as safetensors when learnable) |
 *
 * Everything is checked first: the options, the index, every config, every weights file's tensors
 * against its config (each graph is built, with its weights still unread); only then is anything
 * written, through a {@link ModelFolderSink}. The core imports no Node.js built-in: the Node.js sink
 * writes a temporary folder and renames it into place (src/node/convertFolder.ts).
 */
import { describe } from "../errors.js";
import type { StateDict } from "../formats/checkpointTensor.js";
import { clipTokenizerJson } from "../formats/clipTokenizerFiles.js";
import { readPyTorchZip } from "../formats/pytorchZip.js";
import { readSafetensorsFile } from "../formats/safetensors.js";
import { safetensorsFloat32 } from "../formats/safetensorsWriter.js";
import { ProgressTracker, type HubProgressEvent } from "../files/hub/progress.js";
import type { RepoFile } from "../files/hub/repoFiles.js";
import { hasComponent, integerKey, parseJsonObject, type JsonObject } from "../files/json.js";
import { PIPELINE_LIMITS } from "../limits.js";
import { readFolderFile, type ModelFileSource, type OpenedFile } from "../files/modelFileSource.js";
import { buildTextEncoderGraph } from "./clipTextModel.js";
import { buildTransformerGraph, readTransformerConfig } from "./transformer2DModel.js";
import { buildVqvaeDecoderGraph } from "./vqModelDecoder.js";
import { checkVariant, chooseCheckpointWeights, isCheckpointListing, type WeightsComponent } from "./checkpointFiles.js";
import type { ComponentConfig } from "./configValues.js";
import type { FloatStorage, GraphBuilder, LinearWeights } from "./onnx/graphBuilder.js";
import { writeOnnxModel } from "./onnx/writeOnnxModel.js";
import { expectTensor, readFloat32 } from "./weights.js";

/**
 * The converter's version: part of the conversion cache's key, raised whenever the files it writes
 * for the same checkpoint change (a cached conversion of another version is not reused).
 *
 * @example
 * ```ts
 * `dtype=fp32,variant=default,converter=${CONVERTER_VERSION}`; // a cache entry's options folder
 * ```
 */
export const CONVERTER_VERSION = 1;

/**
 * Bounds of the conversion, beside `PIPELINE_LIMITS`.
 *
 * @example
 * ```ts
 * await source.open!("transformer/diffusion_pytorch_model.bin", { maxBytes: CONVERT_LIMITS.maxWeightsFileBytes });
 * ```
 */
export const CONVERT_LIMITS = {
  /** One weights file (ITHQ's fp32 transformer: 5.44 GB). */
  maxWeightsFileBytes: 64 * 1024 ** 3,
} as const;

/** Options of {@link convertPipeline}. */
export interface ConvertOptions {
  /** diffusers' variant of the weights files: `"fp16"` reads `diffusion_pytorch_model.fp16.safetensors` (or `.fp16.bin`); default the plain files. */
  variant?: string;
  /**
   * The written weights' type: `"fp32"` (default), or `"fp16"`: the float weights stored as float16
   * and cast back to float32 in the graph (the builders' `floatStorage: "float16"`: half the bytes;
   * the arithmetic stays float32, on weights rounded to float16).
   */
  dtype?: "fp32" | "fp16";
  /**
   * Weight quantization: `"int8"` stores the text encoder's and the transformer's nn.Linear weights
   * as int8 with a float32 scale per output column, run by onnxruntime's DynamicQuantizeMatMul (the
   * builders' `linearWeights: "int8"`; src/convert/quantize.ts says why this form). The VQ-VAE's
   * decoder, the embeddings, the LayerNorms, attention's products of activations (q·kᵀ, softmax·v)
   * and the float64 log_softmax stay float. Default: none (float weights). Only a diffusers checkpoint
   * is converted: an ONNX model folder is loaded as it is.
   */
  quantize?: "int8";
  /** Aborts between weights; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called as weights are written (status `"convert"`: see HubProgressEvent). */
  onProgress?: (event: HubProgressEvent) => void;
  /** Receives warnings, one sentence each (a component without the variant's weights file, whose plain file is read). */
  onWarning?: (message: string) => void;
}

/**
 * The options that choose what a conversion makes (part of the conversion cache's key), as the
 * loaders of vq-diffusion/node take them beside their own.
 */
export type ConversionChoice = Pick<ConvertOptions, "variant" | "dtype" | "quantize">;

/**
 * The keys of {@link ConversionChoice}, for the loaders' lists of the options they take.
 *
 * @example
 * ```ts
 * const accepted = { ort: true, ...CONVERSION_CHOICE_KEYS };
 * ```
 */
export const CONVERSION_CHOICE_KEYS = { variant: true, dtype: true, quantize: true } as const;

/** A file being streamed into the output folder (see {@link ModelFolderSink.openWriter}). */
export interface FileWriter {
  /** Appends `chunk` (the caller does not reuse it). */
  write(chunk: Uint8Array): Promise<void>;
  /** Finishes the file; called once, also after a failed write. */
  close(): Promise<void>;
}

/**
 * Where a conversion writes the model folder: paths are "/"-separated and relative to the folder.
 * An implementation must leave nothing in its destination when the conversion fails (the Node.js one
 * writes into a temporary folder that is renamed into place only when the conversion succeeded).
 *
 * @example
 * ```ts
 * const files = new Map<string, Uint8Array[]>();
 * const sink: ModelFolderSink = {
 *   async writeFile(path, bytes) { files.set(path, [bytes]); },
 *   async openWriter(path) {
 *     const chunks: Uint8Array[] = [];
 *     files.set(path, chunks);
 *     return { async write(c) { chunks.push(c); }, async close() {} };
 *   },
 * };
 * ```
 */
export interface ModelFolderSink {
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  openWriter(path: string): Promise<FileWriter>;
}

/** A file the conversion wrote. */
export interface WrittenFile {
  /** Its path in the model folder. */
  readonly path: string;
  /** Its size, bytes. */
  readonly bytes: number;
}

/** One network of the table: the checkpoint's component, where its graph goes, how it is built. */
interface NetworkComponent extends WeightsComponent {
  /** The folder of the written `model.onnx` (the VQ-VAE's decoder is `vqvae_decoder`). */
  readonly output: string;
  /**
   * Builds the graph from the component's config.json and state dict (reads no weight); `configs`
   * holds every network's config, by folder (the VQ-VAE's decoder takes its latent grid from the
   * transformer's); `storage` is how the graph stores its weights (the `dtype` and `quantize` options).
   */
  readonly build: (config: ComponentConfig, dict: StateDict, configFile: string, configs: ReadonlyMap<string, ComponentConfig>, storage: WeightStorage) => GraphBuilder;
  /** Whether `quantize: "int8"` applies to its nn.Linear weights (the text encoder's and the transformer's; not the VQ-VAE's decoder). */
  readonly quantizable: boolean;
  /** Whether model_index.json may leave it out (the text encoder: a folder run from prompt embeddings). */
  readonly optional: boolean;
}

/** How a network's graph stores its weights: float storage (`dtype`), and nn.Linear's form (`quantize`). */
interface WeightStorage {
  readonly floatStorage: FloatStorage;
  readonly linearWeights: LinearWeights;
}

/** The networks, in the order they are written. */
const NETWORKS: readonly NetworkComponent[] = [
  {
    folder: "text_encoder",
    library: "transformers",
    output: "text_encoder",
    build: (config, dict, file, _configs, storage) => buildTextEncoderGraph(config, dict, file, storage),
    quantizable: true,
    optional: true,
  },
  {
    folder: "transformer",
    library: "diffusers",
    output: "transformer",
    build: (config, dict, file, _configs, storage) => buildTransformerGraph(config, dict, file, storage),
    quantizable: true,
    optional: false,
  },
  {
    folder: "vqvae",
    library: "diffusers",
    output: "vqvae_decoder",
    // VQDiffusionPipeline decodes the transformer's latent grid: its height × width, or sample_size².
    build: (config, dict, file, configs, { floatStorage }) =>
      buildVqvaeDecoderGraph(config, dict, file, { grid: readTransformerConfig(configs.get("transformer")!), floatStorage }),
    quantizable: false,
    optional: false,
  },
];

const NULL_EMBEDDINGS = "learned_classifier_free_sampling_embeddings";


/** The small files written (when present), as read or, for a slow tokenizer, as converted. */
const COPIED = ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json"];

/**
 * Checks {@link ConvertOptions}; throws naming the option.
 *
 * @example
 * ```ts
 * checkConvertOptions({ variant: "fp16", dtype: "fp32", quantize: "int8" });
 * ```
 */
export function checkConvertOptions(options: ConvertOptions): { variant: string | undefined; dtype: "fp32" | "fp16"; quantize: "int8" | undefined } {
  if (typeof options !== "object" || options === null) throw new Error(`options: expected { variant?, dtype?, quantize?, signal?, onProgress?, onWarning? }, got ${describe(options)}`);
  const variant = checkVariant(options.variant);
  const { dtype, quantize, signal, onProgress, onWarning } = options;
  if (dtype !== undefined && dtype !== "fp32" && dtype !== "fp16") throw new Error(`dtype: expected "fp32" or "fp16", got ${describe(dtype)}`);
  if (quantize !== undefined && quantize !== "int8") throw new Error(`quantize: expected "int8" (or no quantize: float weights), got ${describe(quantize)}`);
  if (signal !== undefined && (typeof signal !== "object" || signal === null || typeof signal.aborted !== "boolean")) throw new Error(`signal: expected an AbortSignal, got ${describe(signal)}`);
  if (onProgress !== undefined && typeof onProgress !== "function") throw new Error(`onProgress: expected a function, got ${describe(onProgress)}`);
  if (onWarning !== undefined && typeof onWarning !== "function") throw new Error(`onWarning: expected a function, got ${describe(onWarning)}`);
  return { variant, dtype: dtype ?? "fp32", quantize };
}

/** A network ready to write: its graph built, its weights file open. */
interface PlannedNetwork {
  readonly component: NetworkComponent;
  readonly graph: GraphBuilder;
  readonly weightBytes: number;
}

/**
 * Converts the diffusers checkpoint that `source` reads (its files listed in `listing`) into the
 * model folder layout, written through `sink`. Returns the files written, in order, with their sizes.
 *
 * @param source - the checkpoint folder; its `open` is required (the weights are read by offset).
 * @param listing - the folder's files and sizes (a folder walked, or a Hub repository's listing):
 *   the weights files are chosen from it (`chooseCheckpointWeights`).
 * @throws before anything is written: an option (naming it); a folder that is not a diffusers
 *   checkpoint, or a component without weights, or a variant no component has (naming the
 *   component or the variant, and the weights files the folder holds); a
 *   config value or a tensor the builders refuse (naming the file, the key and the value). While
 *   writing: the sink's errors, and the signal's reason when aborted.
 * @example
 * ```ts
 * const written = await convertPipeline(source, listing, sink, { variant: "fp16" });
 * // [{ path: "model_index.json", bytes: 512 }, …, { path: "transformer/model.onnx.data", bytes: 5_440_000_000 }]
 * ```
 */
export async function convertPipeline(source: ModelFileSource, listing: readonly RepoFile[], sink: ModelFolderSink, options: ConvertOptions = {}): Promise<WrittenFile[]> {
  const { variant, dtype, quantize } = checkConvertOptions(options);
  const { signal } = options;
  signal?.throwIfAborted();
  if (typeof source?.open !== "function") throw new Error(`source: expected a model folder whose files can be opened by offset (a folder on disk or the Hub's cache), got ${source?.location ?? describe(source)}`);
  if (!isCheckpointListing(listing)) {
    const exported = listing.some((f) => f.path === "transformer/model.onnx");
    throw new Error(
      `${source.location}: expected a diffusers checkpoint (transformer/config.json and its weights, no transformer/model.onnx), got ${exported ? "a model folder already in ONNX (nothing to convert)" : "a folder without transformer weights"}`,
    );
  }

  // 1. Read and check everything small: the index, the configs, the tokenizer files.
  const small = new Map<string, Uint8Array>();
  const readSmall = async (path: string): Promise<Uint8Array | null> => {
    const bytes = await readFolderFile(source, path, PIPELINE_LIMITS.maxJsonBytes);
    if (bytes !== null) small.set(path, bytes);
    return bytes;
  };
  const json = async (path: string): Promise<JsonObject> => {
    const bytes = await readSmall(path);
    if (bytes === null) throw new Error(`${path}: expected it in the checkpoint ${source.location}, got no such file`);
    return parseJsonObject(bytes, path);
  };
  const index = await json("model_index.json");
  for (const path of COPIED.slice(1)) if (path !== "tokenizer/tokenizer.json") await readSmall(path);
  if (!small.has("scheduler/scheduler_config.json")) throw new Error(`scheduler/scheduler_config.json: expected it in the checkpoint ${source.location}, got no such file`);
  const networks = NETWORKS.filter((n) => !n.optional || hasComponent(index, n.folder));
  const configs = new Map<string, JsonObject>();
  for (const n of networks) configs.set(n.folder, await json(`${n.folder}/config.json`));

  if (hasComponent(index, "tokenizer")) {
    if (!small.has("tokenizer/tokenizer_config.json")) throw new Error(`tokenizer/tokenizer_config.json: expected it in the checkpoint ${source.location}, got no such file`);
    if ((await readSmall("tokenizer/tokenizer.json")) === null) {
      // CLIP's slow files: tokenizer.json made as transformers' fast conversion makes it, and
      // tokenizer_config.json with the special tokens transformers ends up with (special_tokens_map.json's included).
      const vocab = await readFolderFile(source, "tokenizer/vocab.json", PIPELINE_LIMITS.maxJsonBytes);
      const merges = await readFolderFile(source, "tokenizer/merges.txt", PIPELINE_LIMITS.maxJsonBytes);
      if (vocab === null || merges === null) {
        throw new Error(`tokenizer: expected tokenizer/tokenizer.json, or CLIP's slow files tokenizer/vocab.json and tokenizer/merges.txt, in the checkpoint ${source.location}, got ${vocab === null && merges === null ? "neither" : `only ${vocab === null ? "merges.txt" : "vocab.json"}`}`);
      }
      const map = small.get("tokenizer/special_tokens_map.json");
      const { tokenizer, config } = clipTokenizerJson({
        vocab: parseJsonObject(vocab, "tokenizer/vocab.json"),
        merges: decodeText(merges, "tokenizer/merges.txt"),
        tokenizerConfig: parseJsonObject(small.get("tokenizer/tokenizer_config.json")!, "tokenizer/tokenizer_config.json"),
        specialTokensMap: map === undefined ? undefined : parseJsonObject(map, "tokenizer/special_tokens_map.json"),
      });
      const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
      small.set("tokenizer/tokenizer.json", encode(tokenizer));
      small.set("tokenizer/tokenizer_config.json", encode(config));
      small.delete("tokenizer/special_tokens_map.json"); // folded into tokenizer_config.json
    }
  }

  let nullEmbeddings: { config: Uint8Array; learnable: { length: number; hidden: number } | null } | null = null;
  if (hasComponent(index, NULL_EMBEDDINGS)) {
    const path = `${NULL_EMBEDDINGS}/config.json`;
    const config = await json(path);
    if (typeof config.learnable !== "boolean") throw new Error(`${path}: expected key learnable to be true or false, got ${describe(config.learnable)}`);
    let learnable = null;
    if (config.learnable) {
      const length = integerKey(config, path, "length", 1, PIPELINE_LIMITS.maxSequenceLength);
      const hidden = integerKey(config, path, "hidden_size", 1, PIPELINE_LIMITS.maxEmbeddingDim);
      learnable = { length, hidden };
    }
    nullEmbeddings = { config: small.get(path)!, learnable };
  }

  // 2. Choose every weights file (diffusers' rule for variants), open each and build every graph
  // (tensors checked, none read yet).
  const weighted: WeightsComponent[] = [...networks, ...(nullEmbeddings?.learnable ? [{ folder: NULL_EMBEDDINGS, library: "diffusers" as const }] : [])];
  const weights = chooseCheckpointWeights(listing, weighted, variant, options.onWarning);
  const opened: OpenedFile[] = [];
  try {
    const openDict = async (file: RepoFile): Promise<StateDict> => {
      const handle = await source.open!(file.path, { maxBytes: CONVERT_LIMITS.maxWeightsFileBytes });
      if (handle === null) throw new Error(`${file.path}: expected it in the checkpoint ${source.location} (it is listed), got no such file`);
      opened.push(handle);
      return file.path.endsWith(".safetensors") ? readSafetensorsFile(handle) : readPyTorchZip(handle);
    };
    const planned: PlannedNetwork[] = [];
    for (const n of networks) {
      const dict = await openDict(weights.get(n.folder)!);
      const storage: WeightStorage = { floatStorage: dtype === "fp16" ? "float16" : "float32", linearWeights: quantize === "int8" && n.quantizable ? "int8" : "float32" };
      const graph = n.build(configs.get(n.folder)!, dict, `${n.folder}/config.json`, configs, storage);
      planned.push({ component: n, graph, weightBytes: graph.weights.reduce((s, w) => s + w.byteLength, 0) });
    }
    let embeddings: { dict: StateDict; shape: [number, number] } | null = null;
    if (nullEmbeddings?.learnable) {
      const { length, hidden } = nullEmbeddings.learnable;
      const dict = await openDict(weights.get(NULL_EMBEDDINGS)!);
      expectTensor(dict, "embeddings", [length, hidden]);
      embeddings = { dict, shape: [length, hidden] };
    }

    // 3. Write: the small files, then each network's weights and graph.
    const written: WrittenFile[] = [];
    const put = async (path: string, bytes: Uint8Array): Promise<void> => {
      signal?.throwIfAborted();
      await sink.writeFile(path, bytes);
      written.push({ path, bytes: bytes.length });
    };
    for (const path of COPIED) if (small.has(path)) await put(path, small.get(path)!);
    if (nullEmbeddings !== null) {
      await put(`${NULL_EMBEDDINGS}/config.json`, nullEmbeddings.config);
      if (embeddings !== null) {
        const tensor = embeddings.dict.tensors.get("embeddings")!;
        const bytes = await readFloat32(embeddings.dict, tensor, signal);
        await put(`${NULL_EMBEDDINGS}/diffusion_pytorch_model.safetensors`, safetensorsFloat32(new Map([["embeddings", { dims: embeddings.shape, bytes }]])));
      }
    }
    const tracker = new ProgressTracker(options.onProgress);
    for (const p of planned) tracker.plan(`${p.component.output}/model.onnx.data`, p.weightBytes);
    for (const { component, graph, weightBytes } of planned) {
      await put(`${component.folder}/config.json`, small.get(`${component.folder}/config.json`)!);
      const dataPath = `${component.output}/model.onnx.data`;
      let writer: FileWriter | null = null;
      let model: Uint8Array;
      let dataBytes: number;
      let loaded = 0;
      try {
        ({ model, dataBytes } = await writeOnnxModel(graph, {
          signal,
          writeData: async (chunk) => {
            writer ??= await sink.openWriter(dataPath);
            await writer.write(chunk);
          },
          onWeight: (name) => {
            loaded += graph.weights.find((w) => w.name === name)?.byteLength ?? 0;
            tracker.report(dataPath, "convert", loaded, weightBytes);
          },
        }));
      } finally {
        // A writer is closed even after a failed write (the sink then removes what it wrote).
        await (writer as FileWriter | null)?.close();
      }
      // Weights held in the model itself (small ones) are not reported as written: the file ends at its total.
      if (loaded < weightBytes) tracker.report(dataPath, "convert", weightBytes, weightBytes);
      if (dataBytes > 0) written.push({ path: dataPath, bytes: dataBytes });
      await put(`${component.output}/model.onnx`, model);
    }
    return written;
  } finally {
    await Promise.allSettled(opened.map((f) => f.close()));
  }
}


/** A text file's UTF-8 contents; the error names the file. */
function decodeText(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${path}: expected UTF-8 text, got bytes that are not`);
  }
}
