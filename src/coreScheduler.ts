/**
 * The scheduler of the core entry (`vq-diffusion`): scheduler/'s `VQDiffusionScheduler` (diffusers'
 * class: the schedule, `step`, `fromConfig`) with `fromPretrained`, which reads a model's
 * `scheduler_config.json` from a URL or a Hub id. It is assembled here, above the scheduler, so that
 * the scheduler imports neither the model files layer (files/) nor the config files; the loaders are
 * imported on first use, so a page that only steps a scheduler does not bundle them.
 * `vq-diffusion/node` extends this class again for folders on disk (node/nodeScheduler.ts).
 */
import type { SchedulerFileOptions } from "./config/schedulerConfigFile.js";
import type { HubLoadOptions } from "./files/hub/hubSource.js";
import type { OptionKeys } from "./optionKeys.js";
import { VQDiffusionScheduler as SchedulerCore } from "./scheduler/vqDiffusionScheduler.js";

/**
 * Options of {@link VQDiffusionScheduler.fromPretrained} in the core entry: where the config lies in
 * the folder (`subfolder`), who hears warnings, the fetch to use, and the Hub options (`revision`,
 * `cacheDir` = the Cache Storage name, `hubUrl`, `accessToken`, `localFilesOnly`, `onProgress`,
 * `signal`) for a Hub model id.
 */
export interface SchedulerLoadOptions extends HubLoadOptions, SchedulerFileOptions {
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * @example
 * ```ts
 * import { VQDiffusionScheduler } from "vq-diffusion";
 * const scheduler = await VQDiffusionScheduler.fromPretrained("microsoft/vq-diffusion-ithq"); // scheduler/scheduler_config.json
 * scheduler.setTimesteps(100);
 * ```
 */
export class VQDiffusionScheduler extends SchedulerCore {
  /**
   * Loads a scheduler from a model folder's `scheduler_config.json`, fetched from a URL or from a
   * Hugging Face Hub repository `org/name` (into Cache Storage, as the pipeline's `fromPretrained`
   * does; only the config is fetched). Without `subfolder`, the folder's own `scheduler_config.json`,
   * else `scheduler/scheduler_config.json` (a whole pipeline folder). Unknown keys in the file are
   * ignored with a warning to `options.onWarning`; every error names the file. vq-diffusion/node's
   * `fromPretrained` also takes folders on disk and bundled models.
   *
   * @param baseUrlOrModelId - the folder's URL: absolute (`https://…`, `/…`) or relative starting
   *   with `./` or `../` (resolved against the page); or a Hub id `org/name` (one slash, no prefix).
   * @throws Error naming the option, the argument or the file: a key `SchedulerLoadOptions` lacks, a
   *   malformed id or URL (before any request), a folder without the config, a bad config.
   *
   * @example
   * ```ts
   * const scheduler = await VQDiffusionScheduler.fromPretrained("microsoft/vq-diffusion-ithq"); // scheduler/scheduler_config.json
   * scheduler.numEmbed; // 4097
   * ```
   */
  static async fromPretrained(baseUrlOrModelId: string, options: SchedulerLoadOptions = {}): Promise<VQDiffusionScheduler> {
    // Loaded on first use: a page that only steps a scheduler does not bundle the loaders (and the Hub client).
    const [{ checkSchedulerFileOptions, readSchedulerConfigFrom, schedulerFilesToFetch }, { openUrlOrHubSource }, { HUB_OPTION_KEYS }] = await Promise.all([
      import("./config/schedulerConfigFile.js"),
      import("./files/hub/urlOrHubSource.js"),
      import("./files/hub/hubSource.js"),
    ]);
    const accepted = { subfolder: true, onWarning: true, fetch: true, ...HUB_OPTION_KEYS } as const satisfies OptionKeys<SchedulerLoadOptions>;
    const paths = checkSchedulerFileOptions(options, accepted);
    const source = await openUrlOrHubSource(baseUrlOrModelId, options, "baseUrlOrModelId", schedulerFilesToFetch(paths));
    const { json, file } = await readSchedulerConfigFrom(source, paths, options, "baseUrlOrModelId");
    return this.fromConfig(json, { file }); // warned about once, by readSchedulerConfigFrom
  }

}
