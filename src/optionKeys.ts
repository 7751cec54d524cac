/**
 * Options objects take only the keys they document: a misspelt key (`promt`, or diffusers' Python
 * spelling `guidance_scale` of `guidanceScale`) would otherwise be ignored without a word and the
 * call would run on defaults. Every public options object is checked here, first, before anything
 * is allocated, fetched or drawn.
 *
 * @example
 * ```ts
 * const GENERATE_KEYS = { prompt: true, guidanceScale: true } as const;
 * checkOptionKeys({ guidance_scale: 5 }, "options", GENERATE_KEYS);
 * // Error: options: expected only the keys prompt, guidanceScale, got the unknown key "guidance_scale" (Python's spelling of guidanceScale)
 * ```
 */
import { argumentErrorText } from "./errors.js";

/**
 * The keys an options type takes, as an object whose keys are exactly the type's
 * (`satisfies OptionKeys<T>` makes the compiler check that none is missing or extra).
 */
export type OptionKeys<T> = Readonly<Record<keyof T, true>>;

/**
 * Python names (diffusers', huggingface_hub's, transformers.js') whose camelCase here is not their
 * mechanical conversion. Suggested only where the name on the right is accepted.
 */
const PYTHON_NAMES: Readonly<Record<string, string>> = {
  callback: "onStep",
  token: "accessToken",
  use_auth_token: "accessToken",
  progress_callback: "onProgress",
  endpoint: "hubUrl",
};

/**
 * Throws when `options` has an own key that `accepted` lacks: the message names `argument`, lists the
 * accepted keys and every key that came unknown, each with a hint where one is clear: the camelCase
 * name of a Python (snake_case) spelling, else an accepted key one or two letters away.
 *
 * @param options - an object (checked by the caller).
 * @param argument - the options' name in messages (`"options"`).
 * @param accepted - the keys taken (see {@link OptionKeys}).
 * @throws Error `<argument>: expected only the keys <accepted>, got the unknown key "<key>" (<hint>)`.
 *
 * @example
 * ```ts
 * checkOptionKeys({ generator, mdoe: "fast" }, "options", { generator: true, mode: true, prevTimestep: true });
 * // Error: options: expected only the keys generator, mode, prevTimestep, got the unknown key "mdoe" (did you mean mode?)
 * ```
 */
export function checkOptionKeys(options: object, argument: string, accepted: Readonly<Record<string, true>>): void {
  const unknown = Object.keys(options).filter((key) => !Object.hasOwn(accepted, key));
  if (unknown.length === 0) return;
  const names = Object.keys(accepted);
  const got = unknown.map((key) => JSON.stringify(key) + hint(key, names)).join(", ");
  throw argumentErrorText(argument, `only the keys ${names.join(", ")}`, `the unknown key${unknown.length > 1 ? "s" : ""} ${got}`);
}

/** " (Python's spelling of x)", " (did you mean x?)" or "". */
function hint(key: string, names: readonly string[]): string {
  const python = Object.hasOwn(PYTHON_NAMES, key) ? PYTHON_NAMES[key] : snakeToCamel(key);
  if (python !== key && names.includes(python)) return ` (Python's spelling of ${python})`;
  const near = nearestName(key, names);
  return near === undefined ? "" : ` (did you mean ${near}?)`;
}

/**
 * The one name of `names` within two letters of `key` (ignoring case), or undefined when none or
 * several are: a typo's likely meaning.
 *
 * @example
 * ```ts
 * nearestName("promt", ["prompt", "promptEmbeds"]); // "prompt"
 * ```
 */
export function nearestName(key: string, names: readonly string[]): string | undefined {
  const near = names.filter((name) => editDistance(key.toLowerCase(), name.toLowerCase()) <= 2);
  return near.length === 1 ? near[0] : undefined;
}

/** `guidance_scale` → `guidanceScale`. */
function snakeToCamel(key: string): string {
  return key.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Levenshtein distance (insertions, deletions, substitutions), for short keys. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
