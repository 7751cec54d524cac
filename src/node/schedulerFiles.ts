/**
 * Reading and writing `scheduler_config.json` the way diffusers lays out a model folder
 * (`<model>/scheduler/scheduler_config.json`). Node.js only: this module uses `node:fs`.
 */
import { mkdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { argumentError } from "../errors.js";
import type { SchedulerConfigJSON } from "../config/schedulerConfig.js";
import { checkSchedulerFileOptions, readSchedulerConfigFrom, SCHEDULER_CONFIG_NAME, type SchedulerFileOptions } from "../config/schedulerConfigFile.js";
import { HUB_OPTION_KEYS, type HubLoadOptions } from "../files/hub/hubSource.js";
import type { OptionKeys } from "../optionKeys.js";
import { directorySource } from "./directorySource.js";

/**
 * Options of the scheduler's `fromPretrained` in vq-diffusion/node: where the config lies in the
 * folder (`subfolder`), who hears warnings, and the Hub options for a Hub id (defaulting to the
 * environment, as the pipeline's: HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE).
 */
export interface FromPretrainedOptions extends HubLoadOptions, SchedulerFileOptions {}

/** The keys {@link FromPretrainedOptions} takes; any other is refused. */
export const FROM_PRETRAINED_OPTION_KEYS = { subfolder: true, onWarning: true, ...HUB_OPTION_KEYS } as const satisfies OptionKeys<FromPretrainedOptions>;

/**
 * Reads, parses and checks the scheduler's config in the folder `dir` (the keys and types
 * `fromConfig` accepts; the values' ranges are checked when a scheduler is made from it):
 * `<dir>/<subfolder>/scheduler_config.json`, or without `subfolder` `<dir>/scheduler_config.json`,
 * else `<dir>/scheduler/scheduler_config.json`. Keys the scheduler does not take are warned about
 * (`options.onWarning`) and left in the returned object, which `fromConfig` ignores. Nothing
 * outside `dir` is read; every error names the file.
 *
 * @example
 * ```ts
 * const json = await readSchedulerConfig("./vq-diffusion-ithq", { subfolder: "scheduler" });
 * json.num_vec_classes; // 4097
 * ```
 */
export async function readSchedulerConfig(dir: string, options: SchedulerFileOptions = {}): Promise<SchedulerConfigJSON> {
  if (typeof dir !== "string" || dir === "") throw argumentError("dir", "a folder path", dir);
  const paths = checkSchedulerFileOptions(options, { subfolder: true, onWarning: true });
  const source = directorySource(dir);
  const { json } = await readSchedulerConfigFrom(source, paths, options, "dir", pathIn(source.location));
  return json;
}

/**
 * How messages name a file of a folder on disk: its path (`/m/scheduler/scheduler_config.json`).
 *
 * @example
 * ```ts
 * pathIn("/m")("scheduler/scheduler_config.json"); // "/m/scheduler/scheduler_config.json"
 * ```
 */
export function pathIn(folder: string): (path: string) => string {
  return (path) => join(folder, ...path.split("/"));
}

/**
 * Writes `json` to `<dir>/scheduler_config.json` (creating `dir`), as diffusers' `save_config`.
 * Returns the path written.
 */
export async function writeSchedulerConfig(dir: string, json: SchedulerConfigJSON): Promise<string> {
  if (typeof dir !== "string" || dir === "") throw argumentError("dir", "a folder path", dir);
  await ensureFolder(dir);
  const file = join(dir, SCHEDULER_CONFIG_NAME);
  try {
    await writeFile(file, JSON.stringify(json, null, 2) + "\n");
  } catch (e) {
    throw fileError(`a writable file at ${file}`, e);
  }
  return file;
}

/**
 * An Error for a failed file-system call, in the package's message form: `dir: expected <what the
 * call needed>, got <the system's error: code and message>`, e.g.
 * `dir: expected a writable file at /x/scheduler_config.json, got EACCES: permission denied, open '/x/…'`.
 */
function fileError(expected: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const message = String(err?.message ?? e);
  const got = err?.code !== undefined && !message.startsWith(err.code) ? `${err.code}: ${message}` : message;
  return new Error(`dir: expected ${expected}, got ${got}`, { cause: e });
}

/**
 * Creates `dir` and its missing parents, one level at a time. (Node's recursive mkdir never settles
 * on some special file systems, e.g. under /proc; one level at a time, each call fails or succeeds.)
 */
async function ensureFolder(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    const info = await stat(d).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" || e.code === "ENOTDIR" ? null : Promise.reject(fileError(`a readable path at ${d}`, e))));
    if (info !== null) {
      if (!info.isDirectory()) throw new Error(`dir: expected a folder (or a path to create one), got ${d}, which is a file`);
      break;
    }
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fileError(`a folder that can be created at ${d}`, e);
    }
  }
}
