/**
 * The scheduler with diffusers' folder helpers: `VQDiffusionScheduler.fromPretrained(model, { subfolder })`
 * for everything a model argument names in Node.js (a bundled model, a folder, a URL, a Hub id) and
 * `scheduler.saveConfig(dir)`. It is the core class plus two file-system methods, which is why it
 * lives behind the Node-only entry point `vq-diffusion/node`.
 */
import { checkSchedulerFileOptions, readSchedulerConfigFrom, schedulerFilesToFetch } from "../config/schedulerConfigFile.js";
import { VQDiffusionScheduler as CoreScheduler } from "../coreScheduler.js";
import { openModelSource } from "./modelSource.js";
import { FROM_PRETRAINED_OPTION_KEYS, pathIn, writeSchedulerConfig, type FromPretrainedOptions } from "./schedulerFiles.js";

/**
 * @example
 * ```ts
 * import { VQDiffusionScheduler } from "vq-diffusion/node";
 * const scheduler = await VQDiffusionScheduler.fromPretrained("fashion-mnist"); // the bundled model's scheduler/scheduler_config.json
 * const ithq = await VQDiffusionScheduler.fromPretrained("./vq-diffusion-ithq", { subfolder: "scheduler" });
 * await scheduler.saveConfig("./copy/scheduler");
 * ```
 */
export class VQDiffusionScheduler extends CoreScheduler {
  /**
   * Loads a scheduler's `scheduler_config.json` from what `pretrainedModelNameOrPath` names, by the
   * rule of the pipeline's `fromPretrained` (`modelLocation`, docs/model-folder.md "Naming a model"):
   * a folder path (absolute, `./` or `../`, a `file:` URL, or any path of an existing folder, which
   * comes first), a bundled model's name (`"fashion-mnist"`), an `http(s)://` URL of a folder, or a Hub id `org/name` (only the
   * config is fetched, into huggingface_hub's cache; `options` carry the Hub options, which default
   * to the environment as the pipeline's do). Without `subfolder`, the folder's own
   * `scheduler_config.json`, else `scheduler/scheduler_config.json` (a whole pipeline folder).
   * Unknown keys in the file are ignored with a warning to `options.onWarning`; every error names
   * the argument, the option or the file.
   *
   * @throws Error naming `pretrainedModelNameOrPath` when it names nothing loadable or a folder without the config.
   */
  static override async fromPretrained(pretrainedModelNameOrPath: string, options: FromPretrainedOptions = {}): Promise<VQDiffusionScheduler> {
    const name = "pretrainedModelNameOrPath";
    const paths = checkSchedulerFileOptions(options, FROM_PRETRAINED_OPTION_KEYS);
    const { location, source } = await openModelSource(pretrainedModelNameOrPath, options, name, schedulerFilesToFetch(paths));
    // A folder on disk names its files by their paths; a URL's or a Hub model's, relative to it (as the pipeline's messages do).
    const onDisk = location.kind === "folder" || location.kind === "bundled";
    const { json, file } = await readSchedulerConfigFrom(source, paths, options, name, onDisk ? pathIn(source.location) : undefined);
    return VQDiffusionScheduler.fromConfig(json, { file }); // warned about once, by readSchedulerConfigFrom
  }

  /** Writes `<dir>/scheduler_config.json`; returns the path written. */
  async saveConfig(dir: string): Promise<string> {
    return writeSchedulerConfig(dir, this.toJSON());
  }
}
