/**
 * Reading and writing `scheduler_config.json` the way diffusers lays out a model folder
 * (`<model>/scheduler/scheduler_config.json`). Node.js only: this module uses `node:fs`.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { argumentError } from "../errors.js";
import type { SchedulerConfigJSON } from "../config/schedulerConfig.js";

/** The file name diffusers uses for a scheduler's config. */
export const SCHEDULER_CONFIG_NAME = "scheduler_config.json";

/** Options of `fromPretrained`. */
export interface FromPretrainedOptions {
  /** A folder inside `dir`, e.g. `"scheduler"` for a whole pipeline folder. */
  subfolder?: string;
}

/**
 * Reads and parses `<dir>[/<subfolder>]/scheduler_config.json`.
 *
 * @example
 * ```ts
 * const json = await readSchedulerConfig("./vq-diffusion-ithq", { subfolder: "scheduler" });
 * json.num_vec_classes; // 4097
 * ```
 */
export async function readSchedulerConfig(dir: string, options: FromPretrainedOptions = {}): Promise<Record<string, unknown>> {
  if (typeof dir !== "string" || dir === "") throw argumentError("dir", "a folder path", dir);
  if (typeof options !== "object" || options === null) throw argumentError("options", "an object", options);
  if (options.subfolder !== undefined && typeof options.subfolder !== "string") {
    throw argumentError("options.subfolder", "a string", options.subfolder);
  }
  const file = join(dir, options.subfolder ?? "", SCHEDULER_CONFIG_NAME);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new Error(`dir: expected a folder holding ${SCHEDULER_CONFIG_NAME}, got ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: expected JSON, got a parse error: ${(e as Error).message}`);
  }
}

/**
 * Writes `json` to `<dir>/scheduler_config.json` (creating `dir`), as diffusers' `save_config`.
 * Returns the path written.
 */
export async function writeSchedulerConfig(dir: string, json: SchedulerConfigJSON): Promise<string> {
  if (typeof dir !== "string" || dir === "") throw argumentError("dir", "a folder path", dir);
  await mkdir(dir, { recursive: true });
  const file = join(dir, SCHEDULER_CONFIG_NAME);
  await writeFile(file, JSON.stringify(json, null, 2) + "\n");
  return file;
}
