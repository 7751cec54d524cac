/**
 * Reading and writing `scheduler_config.json` the way diffusers lays out a model folder
 * (`<model>/scheduler/scheduler_config.json`). Node.js only: this module uses `node:fs`.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { argumentError } from "../errors.js";
import { optionsFromJSON, type SchedulerConfigJSON } from "../config/schedulerConfig.js";
import { fileTooLarge, PIPELINE_LIMITS } from "../pipeline/modelFolder.js";

/** The file name diffusers uses for a scheduler's config. */
export const SCHEDULER_CONFIG_NAME = "scheduler_config.json";

/** Options of `fromPretrained`. */
export interface FromPretrainedOptions {
  /** A folder inside `dir`, e.g. `"scheduler"` for a whole pipeline folder. */
  subfolder?: string;
  /** Receives each warning (unknown keys, ignored as diffusers ignores them), naming the file. Default: none. */
  onWarning?: (message: string) => void;
}

/**
 * Reads, parses and checks `<dir>[/<subfolder>]/scheduler_config.json` (the keys and types
 * `fromConfig` accepts; the values' ranges are checked when a scheduler is made from it). Keys the
 * scheduler does not take are warned about (`options.onWarning`) and left in the returned object,
 * which `fromConfig` ignores. Every error names the file.
 *
 * @example
 * ```ts
 * const json = await readSchedulerConfig("./vq-diffusion-ithq", { subfolder: "scheduler" });
 * json.num_vec_classes; // 4097
 * ```
 */
export async function readSchedulerConfig(dir: string, options: FromPretrainedOptions = {}): Promise<SchedulerConfigJSON> {
  if (typeof dir !== "string" || dir === "") throw argumentError("dir", "a folder path", dir);
  if (typeof options !== "object" || options === null) throw argumentError("options", "an object", options);
  if (options.subfolder !== undefined && typeof options.subfolder !== "string") {
    throw argumentError("options.subfolder", "a string", options.subfolder);
  }
  const file = join(dir, options.subfolder ?? "", SCHEDULER_CONFIG_NAME);
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > PIPELINE_LIMITS.maxJsonBytes) throw fileTooLarge(file, PIPELINE_LIMITS.maxJsonBytes, size);
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as Error).message.startsWith(file)) throw e;
    throw new Error(`dir: expected a folder holding ${SCHEDULER_CONFIG_NAME}, got ${file}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: expected JSON, got a parse error: ${(e as Error).message}`);
  }
  optionsFromJSON(json, { onWarning: options.onWarning, file });
  return json as SchedulerConfigJSON;
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
