/**
 * A scheduler's `scheduler_config.json` read from a model folder, through a {@link ModelFileSource}
 * (a folder on disk, a URL, the Hub): what every `VQDiffusionScheduler.fromPretrained` reads.
 *
 * Where: `<subfolder>/scheduler_config.json` when `subfolder` is given (`""`: the folder's own);
 * without it, the folder's own `scheduler_config.json`, else `scheduler/scheduler_config.json`, so
 * that a whole pipeline folder (diffusers' layout: a bundled model, `org/name` on the Hub) loads by
 * its name alone. (diffusers' `from_pretrained` reads only the first and needs `subfolder="scheduler"`
 * for a pipeline folder.)
 */
import { argumentError } from "../errors.js";
import { checkFolderPath, readFolderFile, type ModelFileSource } from "../files/modelFileSource.js";
import { parseJsonObject } from "../files/json.js";
import { PIPELINE_LIMITS } from "../limits.js";
import { checkOptionKeys } from "../optionKeys.js";
import { checkFromConfigOptions, optionsFromJSON, type SchedulerConfigJSON } from "./schedulerConfig.js";

/** The file name diffusers uses for a scheduler's config. */
export const SCHEDULER_CONFIG_NAME = "scheduler_config.json";

/** Where in a model folder the scheduler's config is looked for, and who hears its warnings. */
export interface SchedulerFileOptions {
  /** A folder inside the model folder, e.g. `"scheduler"` (`""`: the folder itself). Default: the folder's own config, else `scheduler/`'s. */
  subfolder?: string;
  /** Receives each warning (unknown keys, ignored as diffusers ignores them), naming the file. Default: none. */
  onWarning?: (message: string) => void;
}

/**
 * Checks the options of a `fromPretrained` (an object of the `accepted` keys, `onWarning` a
 * function, `subfolder` a path inside the folder) before anything is read, and returns the paths to
 * try (see {@link schedulerConfigPaths}).
 *
 * @example
 * ```ts
 * checkSchedulerFileOptions({ subfolder: "scheduler" }, { subfolder: true, onWarning: true }); // ["scheduler/scheduler_config.json"]
 * ```
 */
export function checkSchedulerFileOptions(options: SchedulerFileOptions, accepted: Readonly<Record<string, true>>): string[] {
  if (typeof options !== "object" || options === null) throw argumentError("options", `{ ${Object.keys(accepted).join("?, ")}? }`, options);
  checkOptionKeys(options, "options", accepted);
  checkFromConfigOptions({ onWarning: options.onWarning });
  return schedulerConfigPaths(options.subfolder);
}

/**
 * The paths tried, in order, for `subfolder` (checked: a path inside the folder, no `..`).
 *
 * @example
 * ```ts
 * schedulerConfigPaths(undefined);   // ["scheduler_config.json", "scheduler/scheduler_config.json"]
 * schedulerConfigPaths("scheduler"); // ["scheduler/scheduler_config.json"]
 * ```
 */
export function schedulerConfigPaths(subfolder: string | undefined): string[] {
  if (subfolder === undefined) return [SCHEDULER_CONFIG_NAME, `scheduler/${SCHEDULER_CONFIG_NAME}`];
  if (typeof subfolder !== "string") throw argumentError("subfolder", "a folder inside the model folder (a string)", subfolder);
  return subfolder === "" ? [SCHEDULER_CONFIG_NAME] : [`${checkFolderPath(subfolder.replace(/\/+$/, ""), "subfolder")}/${SCHEDULER_CONFIG_NAME}`];
}

/**
 * The Hub files a scheduler load fetches up front: the listed ones of `paths`, nothing else.
 *
 * @example
 * ```ts
 * schedulerFilesToFetch(["scheduler/scheduler_config.json"])([{ path: "scheduler/scheduler_config.json", size: 9 }, { path: "transformer/model.onnx", size: 5 }]);
 * // [{ path: "scheduler/scheduler_config.json", size: 9 }]
 * ```
 */
export function schedulerFilesToFetch(paths: readonly string[]): <F extends { readonly path: string }>(listing: readonly F[]) => F[] {
  return (listing) => listing.filter((f) => paths.includes(f.path));
}

/**
 * Reads the first of `paths` the source holds (bounded by `PIPELINE_LIMITS.maxJsonBytes`), parses
 * it and checks its keys and types (`optionsFromJSON`; the values' ranges are checked when a
 * scheduler is made from it), warning about unknown keys once.
 *
 * @param argument - the model argument's name, for the message when no path is there.
 * @param fileName - how a path is named in messages (default: as it is, relative to the folder).
 * @returns the config as read, and its file's name in messages (for `fromConfig`'s `file`).
 * @throws `<argument>: expected a folder holding <paths>, got <source.location>, which has neither`;
 *   the file's own errors (too large, not JSON, a bad key) name the file.
 *
 * @example
 * ```ts
 * const { json, file } = await readSchedulerConfigFrom(urlSource("https://example.com/model"), schedulerConfigPaths(undefined), {}, "baseUrlOrModelId");
 * ```
 */
export async function readSchedulerConfigFrom(
  source: ModelFileSource,
  paths: readonly string[],
  options: Pick<SchedulerFileOptions, "onWarning">,
  argument: string,
  fileName: (path: string) => string = (path) => path,
): Promise<{ json: SchedulerConfigJSON; file: string }> {
  for (const path of paths) {
    const bytes = await readFolderFile(source, path, PIPELINE_LIMITS.maxJsonBytes);
    if (bytes === null) continue;
    const file = fileName(path);
    const json = parseJsonObject(bytes, file);
    optionsFromJSON(json, { onWarning: options.onWarning, file });
    return { json: json as SchedulerConfigJSON, file };
  }
  throw new Error(`${argument}: expected a folder holding ${paths.join(" or ")}, got ${source.location}, which has ${paths.length > 1 ? "neither" : "no such file"}`);
}
