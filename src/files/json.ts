/**
 * JSON files of a model folder (configs, model_index.json, tokenizer files): parsed within a bound,
 * and read key by key with errors that name the file and the key.
 */
import { describe } from "../errors.js";
import { PIPELINE_LIMITS } from "../limits.js";

/** A JSON object read from the folder. */
export type JsonObject = Record<string, unknown>;

/** Parses a JSON object from `bytes`, bounded by {@link PIPELINE_LIMITS.maxJsonBytes}. */
export function parseJsonObject(bytes: Uint8Array, path: string): JsonObject {
  if (bytes.length > PIPELINE_LIMITS.maxJsonBytes) {
    throw new Error(`${path}: expected a JSON file of at most ${PIPELINE_LIMITS.maxJsonBytes} bytes, got ${bytes.length}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${path}: expected JSON, got a parse error: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${path}: expected a JSON object, got ${describe(value)}`);
  return value as JsonObject;
}

/** The integer at `json[key]`, in [min, max]; the error names the file and the key. */
export function integerKey(json: JsonObject, path: string, key: string, min: number, max: number): number {
  const v = json[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${path}: expected key ${key} to be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

/**
 * Whether model_index.json lists component `name`: [library, class] (two strings). A missing key and
 * `[null, null]`, which is how diffusers saves a pipeline without that component, both mean absent;
 * anything else is an Error naming the file and the key.
 *
 * @example
 * ```ts
 * hasComponent({ tokenizer: [null, null] }, "tokenizer"); // false
 * hasComponent({ tokenizer: ["transformers", "CLIPTokenizer"] }, "tokenizer"); // true
 * ```
 */
export function hasComponent(index: JsonObject, name: string): boolean {
  const entry = index[name];
  if (entry === undefined || (Array.isArray(entry) && entry.length === 2 && entry[0] === null && entry[1] === null)) return false;
  if (Array.isArray(entry) && entry.length === 2 && entry.every((s) => typeof s === "string")) return true;
  throw new Error(`model_index.json: expected key ${name} to be [library, class] (or [null, null]: absent), got ${describe(entry)}`);
}
