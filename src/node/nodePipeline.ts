/**
 * `VQDiffusionPipeline` for Node.js: `fromPretrained(dir)` reads the model folder from disk and runs
 * it with onnxruntime-node (loaded on first use, so importing `vq-diffusion/node` for the scheduler
 * alone does not load the native binding).
 */
import { access, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { argumentError } from "../errors.js";
import { isModelIdForm } from "../hub/modelId.js";
import { openHubSource, type HubLoadOptions } from "../hub/hubSource.js";
import { nodeHubPlatform } from "./hubCache.js";
import type { ModelFileSource } from "../pipeline/modelFolder.js";
import type { OrtModule, OrtSessionOptions } from "../pipeline/onnxComponent.js";
import { VQDiffusionPipeline as CorePipeline } from "../pipeline/vqDiffusionPipeline.js";

/**
 * Options of {@link VQDiffusionPipeline.fromPretrained} in `vq-diffusion/node`; the Hub options
 * apply to a Hub model id (`org/name`).
 */
export interface NodePipelineLoadOptions extends HubLoadOptions {
  /** Another onnxruntime module (default: onnxruntime-node). */
  ort?: OrtModule;
  /** Passed to every `InferenceSession.create`. */
  sessionOptions?: OrtSessionOptions;
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
 * const pipe = await VQDiffusionPipeline.fromPretrained("models/fashion-mnist");
 * const { images } = await pipe.generate({ prompt: "sneaker", generator: new TorchGenerator().manualSeed(0) });
 * ```
 */
export class VQDiffusionPipeline extends CorePipeline {
  /**
   * Loads a model folder from disk, with onnxruntime-node.
   *
   * @param dir - the folder (PIPELINE.md §1 layout).
   */
  static override async fromPretrained(dir: string, options: NodePipelineLoadOptions = {}): Promise<VQDiffusionPipeline> {
    if (typeof options !== "object" || options === null) throw argumentError("options", "{ ort?, sessionOptions?, revision?, cacheDir?, ... }", options);
    if (typeof dir === "string" && isModelIdForm(dir)) {
      const source = await openHubSource(dir, options, nodeHubPlatform());
      const ort: OrtModule = options.ort ?? ((await import("onnxruntime-node")) as unknown as OrtModule);
      return this.fromSource(source, ort, options.sessionOptions);
    }
    const source = directorySource(dir);
    // Named here as `dir` (fromSource reads the index itself and would name the file).
    const present = await access(join(source.location, "model_index.json")).then(() => true, () => false);
    if (!present) throw new Error(`dir: expected a model folder holding model_index.json, got ${source.location}`);
    const ort: OrtModule = options.ort ?? ((await import("onnxruntime-node")) as unknown as OrtModule);
    return this.fromSource(source, ort, options.sessionOptions);
  }
}
