/**
 * The scheduler with diffusers' folder helpers: `VQDiffusionScheduler.fromPretrained(dir, { subfolder })`
 * and `scheduler.saveConfig(dir)`. It is the core class plus two file-system methods, which is why
 * it lives behind the Node-only entry point `vq-diffusion/node`.
 */
import { VQDiffusionScheduler as CoreScheduler } from "../scheduler/vqDiffusionScheduler.js";
import { readSchedulerConfig, writeSchedulerConfig, type FromPretrainedOptions } from "./schedulerFiles.js";

/**
 * @example
 * ```ts
 * import { VQDiffusionScheduler } from "vq-diffusion/node";
 * const scheduler = await VQDiffusionScheduler.fromPretrained("./vq-diffusion-ithq", { subfolder: "scheduler" });
 * await scheduler.saveConfig("./copy/scheduler");
 * ```
 */
export class VQDiffusionScheduler extends CoreScheduler {
  /** Loads `<dir>[/<subfolder>]/scheduler_config.json`. */
  static async fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<VQDiffusionScheduler> {
    return VQDiffusionScheduler.fromConfig(await readSchedulerConfig(dir, options));
  }

  /** Writes `<dir>/scheduler_config.json`; returns the path written. */
  async saveConfig(dir: string): Promise<string> {
    return writeSchedulerConfig(dir, this.toJSON());
  }
}
