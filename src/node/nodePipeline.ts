/**
 * `VQDiffusionPipeline` for Node.js: `fromPretrained(model)` reads a bundled model, a model folder from
 * disk or one served over HTTP, and runs it with onnxruntime-node (loaded on first use, so importing
 * `vq-diffusion/node` for the scheduler alone neither needs nor loads the native binding).
 */
import { access, open, realpath, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { argumentError } from "../errors.js";
import { HUB_OPTION_KEYS, type HubLoadOptions } from "../files/hub/hubSource.js";
import { checkOptionKeys, type OptionKeys } from "../optionKeys.js";
import { CONVERSION_CHOICE_KEYS } from "../convert/convertPipeline.js";
import { checkFolderPath, fileTooLarge, type LocalFile, type ModelFileSource, type OpenedFile, type ReadOptions } from "../files/modelFileSource.js";
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
