/**
 * What a model argument names in the core entry (`fromPretrained` of the pipeline and of the
 * scheduler, in browsers and any runtime with `fetch`): a Hugging Face Hub id `org/name` (one slash,
 * no path or URL prefix) is a Hub repository, fetched into Cache Storage where there is one;
 * anything else is the URL of a model folder (absolute, or relative to the page). vq-diffusion/node
 * adds folders on disk and bundled models by the same rule (src/node/modelSource.ts).
 */
import { urlSource, type ModelFileSource } from "../modelFileSource.js";
import { browserHubPlatform } from "./cacheStorageStore.js";
import type { ListedFile } from "./hubApi.js";
import { openHubSource, type HubLoadOptions } from "./hubSource.js";
import { isModelIdForm } from "./modelId.js";

/**
 * Opens `baseUrlOrModelId` as a model folder: a Hub id through {@link openHubSource} (Cache Storage,
 * the given `fetch`), else {@link urlSource}.
 *
 * @param options - the Hub options (used for a Hub id) and the fetch to use (default: the global one).
 * @param argument - the argument's name in messages.
 * @param filesToFetch - for a Hub id, the listed files to fetch up front (default: the pipeline's).
 * @throws Error naming `argument` for a malformed id or URL, and the Hub's errors (see openHubSource).
 *
 * @example
 * ```ts
 * const source = await openUrlOrHubSource("org/vq-diffusion-tiny", { revision: "main" }, "baseUrlOrModelId");
 * const index = await source.read("model_index.json", { maxBytes: 1 << 20 });
 * ```
 */
export async function openUrlOrHubSource(
  baseUrlOrModelId: string,
  options: HubLoadOptions & { fetch?: typeof fetch },
  argument: string,
  filesToFetch?: (listing: readonly ListedFile[]) => readonly ListedFile[],
): Promise<ModelFileSource> {
  return typeof baseUrlOrModelId === "string" && isModelIdForm(baseUrlOrModelId)
    ? openHubSource(baseUrlOrModelId, options, browserHubPlatform(options.fetch), argument, filesToFetch)
    : urlSource(baseUrlOrModelId, options.fetch);
}
