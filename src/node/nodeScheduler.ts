/**
 * The scheduler with diffusers' folder helpers: `VQDiffusionScheduler.fromPretrained(dir, { subfolder })`
 * and `scheduler.saveConfig(dir)`. It is the core class plus two file-system methods, which is why
 * it lives behind the Node-only entry point `vq-diffusion/node`.
 */
import { VQDiffusionScheduler as CoreScheduler } from "../scheduler/vqDiffusionScheduler.js";
import { join } from "node:path";
import { readSchedulerConfig, SCHEDULER_CONFIG_NAME, writeSchedulerConfig, type FromPretrainedOptions } from "./schedulerFiles.js";

/**
 * @example
 * ```ts
 * import { VQDiffusionScheduler } from "vq-diffusion/node";
 * const scheduler = await VQDiffusionScheduler.fromPretrained("./vq-diffusion-ithq", { subfolder: "scheduler" });
 * await scheduler.saveConfig("./copy/scheduler");
 * ```
 */
export class VQDiffusionScheduler extends CoreScheduler {
  /**
   * Loads `<dir>[/<subfolder>]/scheduler_config.json`; unknown keys are ignored with a warning to
   * `options.onWarning`, and every error names the file.
   */
  static async fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<VQDiffusionScheduler> {
    const json = await readSchedulerConfig(dir, options);
    // Warned about once, by readSchedulerConfig.
    return VQDiffusionScheduler.fromConfig(json, { file: join(dir, options.subfolder ?? "", SCHEDULER_CONFIG_NAME) });
  }

  /** Writes `<dir>/scheduler_config.json`; returns the path written. */
  async saveConfig(dir: string): Promise<string> {
    return writeSchedulerConfig(dir, this.toJSON());
  }
}
