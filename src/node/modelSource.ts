/**
 * Opens what a model argument names in vq-diffusion/node (the rule of `modelLocation`: a bundled
 * model, a folder on disk, an http(s) URL, or a Hub id) as a {@link ModelFileSource}. The pipeline's
 * and the scheduler's `fromPretrained` (and the CLI's `--model`) all open their argument here.
 */
import type { ListedFile } from "../files/hub/hubApi.js";
import { openHubSource, type HubLoadOptions } from "../files/hub/hubSource.js";
import { urlSource, type ModelFileSource } from "../files/modelFileSource.js";
import { nodeHubPlatform } from "./hubCache.js";
import { modelLocation, type ModelLocation } from "./modelLocation.js";
import { directorySource } from "./directorySource.js";

/**
 * The source of `model` and where it pointed: a bundled model or a folder is read from disk
 * (`directorySource`), a URL with fetch, a Hub id through huggingface_hub's cache (`options` carry
 * the Hub options; the environment's defaults apply). Nothing is read for a folder until the
 * source is asked.
 *
 * @param name - the argument's name in messages (`pretrainedModelNameOrPath`, `--model`).
 * @param filesToFetch - for a Hub id, the listed files to fetch up front (default: the pipeline's).
 * @throws Error naming `name` when `model` names nothing (see `modelLocation`), and the Hub's errors.
 *
 * @example
 * ```ts
 * const { location, source } = await openModelSource("fashion-mnist", {}, "model");
 * location.kind; // "bundled"
 * ```
 */
export async function openModelSource(
  model: string,
  options: HubLoadOptions,
  name: string,
  filesToFetch?: (listing: readonly ListedFile[]) => readonly ListedFile[],
): Promise<{ location: ModelLocation; source: ModelFileSource }> {
  const location = modelLocation(model, name);
  switch (location.kind) {
    case "bundled":
    case "folder":
      return { location, source: directorySource(location.path) };
    case "url":
      return { location, source: urlSource(location.url) };
    case "hub":
      return { location, source: await openHubSource(location.repoId, options, nodeHubPlatform(), name, filesToFetch) };
  }
}
