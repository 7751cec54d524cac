/**
 * `VQDiffusionPipeline` for Node.js: `fromPretrained(model)` reads a bundled model, a model folder from
 * disk or one served over HTTP, and runs it with onnxruntime-node (loaded on first use, so importing
 * `vq-diffusion/node` for the scheduler alone neither needs nor loads the native binding).
 */
import { access, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { argumentError } from "../errors.js";
import { urlSource, type ModelFileSource } from "../pipeline/modelFolder.js";
import type { OrtModule, OrtSessionOptions } from "../pipeline/onnxComponent.js";
import type { WarningHandler } from "../pipeline/promptTokenizer.js";
import { VQDiffusionPipeline as CorePipeline, type PipelineComponents } from "../pipeline/vqDiffusionPipeline.js";
import { modelForms, modelLocation } from "./modelLocation.js";
import { loadOnnxruntimeNode } from "./onnxruntimeNode.js";

/** Options of {@link VQDiffusionPipeline.fromPretrained} in `vq-diffusion/node`. */
export interface NodePipelineLoadOptions {
  /** Another onnxruntime module (default: onnxruntime-node). */
  ort?: OrtModule;
  /** Passed to every `InferenceSession.create`. */
  sessionOptions?: OrtSessionOptions;
  /** Receives warnings (loading, and the default of every `generate`'s: unknown words, cut prompts); see the core's load options. */
  onWarning?: WarningHandler;
}

/**
 * A model folder on disk. A missing file reads as absent; any other file-system error is rethrown
 * with the path and what was being read.
 *
 * @example
 * ```ts
 * const source = directorySource("models/fashion-mnist");
 * ```
 */
export function directorySource(dir: string): ModelFileSource {
  if (typeof dir !== "string" || dir === "") throw argumentError("dir", "a model folder path", dir);
  const root = resolve(dir);
  return {
    location: root,
    async read(path: string): Promise<Uint8Array | null> {
      const file = join(root, path);
      try {
        return new Uint8Array(await readFile(file));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return null;
        throw new Error(`${path}: reading ${file} failed (${code ?? "error"}): ${(e as Error).message}`, { cause: e });
      }
    },
  };
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
   * follows one rule (`modelLocation`, docs/model-folder.md "Naming a model"): a bundled model's name
   * (`"fashion-mnist"`, found inside the package whatever the working directory), a folder path that
   * is absolute or starts with `./` or `../` (or a `file:` URL), or an `http(s)://` URL of a folder.
   * `org/name` (a Hugging Face Hub id) is refused for now.
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
  if (typeof options !== "object" || options === null) throw argumentError("options", "{ ort?, sessionOptions?, onWarning? }", options);
  const location = modelLocation(model, name);
  let source: ModelFileSource;
  switch (location.kind) {
    case "bundled":
    case "folder": {
      source = directorySource(location.path);
      // Named here as the argument (fromSource reads the index itself and would name the file).
      const present = await access(join(source.location, "model_index.json")).then(() => true, () => false);
      if (!present) throw new Error(`${name}: expected a model folder holding model_index.json, got ${source.location}`);
      break;
    }
    case "url":
      source = urlSource(location.url);
      break;
    case "hub":
      throw new Error(
        `${name}: expected ${modelForms()}, got the Hugging Face Hub id ${JSON.stringify(location.repoId)}, which this version does not download ` +
          `(download the folder and pass its path, e.g. ${JSON.stringify(`./${location.repoId}`)})`,
      );
  }
  const ort: OrtModule = options.ort ?? (await loadOnnxruntimeNode());
  return cls.fromSource(source, ort, options.sessionOptions, options.onWarning);
}
