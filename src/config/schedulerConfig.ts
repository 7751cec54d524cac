/**
 * The scheduler's six options, their defaults (those of diffusers' `VQDiffusionScheduler`), and the
 * conversion to and from a diffusers `scheduler_config.json` object (snake_case names).
 */
import { LIMITS } from "../limits.js";
import { argumentError } from "../errors.js";
import { checkOptionKeys, type OptionKeys } from "../optionKeys.js";

/** Options of `new VQDiffusionScheduler(options)`; all but `numVecClasses` have the reference's defaults. */
export interface VQDiffusionSchedulerOptions {
  /** K: number of classes of the latent pixels, the mask class (K - 1) included. Integer >= 2. */
  numVecClasses: number;
  /** T: number of diffusion steps the model was trained with. Integer >= 2. Default 100. */
  numTrainTimesteps?: number;
  /** ᾱ at step 0. Default 0.99999. */
  alphaCumStart?: number;
  /** ᾱ at step T - 1. Default 0.000009. */
  alphaCumEnd?: number;
  /** γ̄ at step 0. Default 0.000009. */
  gammaCumStart?: number;
  /** γ̄ at step T - 1. Default 0.99999. */
  gammaCumEnd?: number;
}

/** The resolved options, every field present. */
export type VQDiffusionSchedulerConfig = Readonly<Required<VQDiffusionSchedulerOptions>>;

/** The reference's defaults. */
export const DEFAULT_CONFIG = Object.freeze({
  numTrainTimesteps: 100,
  alphaCumStart: 0.99999,
  alphaCumEnd: 0.000009,
  gammaCumStart: 0.000009,
  gammaCumEnd: 0.99999,
});

/** The `_class_name` written to and accepted from `scheduler_config.json`. */
export const CLASS_NAME = "VQDiffusionScheduler";

/** camelCase option ↔ snake_case config key. */
const KEYS = [
  ["numVecClasses", "num_vec_classes"],
  ["numTrainTimesteps", "num_train_timesteps"],
  ["alphaCumStart", "alpha_cum_start"],
  ["alphaCumEnd", "alpha_cum_end"],
  ["gammaCumStart", "gamma_cum_start"],
  ["gammaCumEnd", "gamma_cum_end"],
] as const;

/** The keys `new VQDiffusionScheduler(options)` takes (any other is refused). */
const OPTION_KEYS = Object.fromEntries(KEYS.map(([camel]) => [camel, true])) as OptionKeys<VQDiffusionSchedulerOptions>;

/**
 * Resolves options against the defaults and checks each on its own (the schedule they make is
 * checked in `../schedule/logSchedule.ts`). Throws on a missing or non-integer `numVecClasses`, one
 * below 2, a non-integer `numTrainTimesteps` or one below 2, a non-finite schedule endpoint.
 *
 * @example
 * ```ts
 * resolveConfig({ numVecClasses: 4097 }).numTrainTimesteps; // 100
 * ```
 */
export function resolveConfig(options: VQDiffusionSchedulerOptions): VQDiffusionSchedulerConfig {
  if (typeof options !== "object" || options === null) {
    throw argumentError("options", "an object with numVecClasses", options);
  }
  checkOptionKeys(options, "options", OPTION_KEYS);
  const k = options.numVecClasses;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 2 || k > LIMITS.maxNumVecClasses) {
    throw argumentError("numVecClasses", `an integer in [2, ${LIMITS.maxNumVecClasses}] (the classes, the mask class included)`, k);
  }
  const t = options.numTrainTimesteps ?? DEFAULT_CONFIG.numTrainTimesteps;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 2 || t > LIMITS.maxNumTrainTimesteps) {
    throw argumentError("numTrainTimesteps", `an integer in [2, ${LIMITS.maxNumTrainTimesteps}]`, t);
  }
  const out = {
    numVecClasses: k,
    numTrainTimesteps: t,
    alphaCumStart: options.alphaCumStart ?? DEFAULT_CONFIG.alphaCumStart,
    alphaCumEnd: options.alphaCumEnd ?? DEFAULT_CONFIG.alphaCumEnd,
    gammaCumStart: options.gammaCumStart ?? DEFAULT_CONFIG.gammaCumStart,
    gammaCumEnd: options.gammaCumEnd ?? DEFAULT_CONFIG.gammaCumEnd,
  };
  for (const name of ["alphaCumStart", "alphaCumEnd", "gammaCumStart", "gammaCumEnd"] as const) {
    const v = out[name];
    if (typeof v !== "number" || !Number.isFinite(v)) throw argumentError(name, "a finite number in [0, 1]", v);
  }
  return Object.freeze(out);
}

/** A diffusers `scheduler_config.json` object. */
export interface SchedulerConfigJSON {
  _class_name?: string;
  _diffusers_version?: string;
  num_vec_classes: number;
  num_train_timesteps?: number;
  alpha_cum_start?: number;
  alpha_cum_end?: number;
  gamma_cum_start?: number;
  gamma_cum_end?: number;
  [key: string]: unknown;
}

/** Options of `VQDiffusionScheduler.fromConfig` (and of the config reading behind it). */
export interface FromConfigOptions {
  /**
   * Receives each warning (unknown keys, ignored as diffusers ignores them). Default: none, the core
   * prints nothing.
   */
  onWarning?: (message: string) => void;
  /** The config's file, named in every error and warning instead of `config` (e.g. `"scheduler/scheduler_config.json"`). */
  file?: string;
}

/**
 * Reads a `scheduler_config.json` object into options, as diffusers' `from_config` does: keys starting
 * with `_` other than `_class_name` are metadata and ignored (diffusers writes `_diffusers_version`
 * and others); `_class_name`, when present, must be `"VQDiffusionScheduler"`; any other key the
 * scheduler does not take is ignored with a warning naming it (diffusers: "The config attributes …
 * were passed to VQDiffusionScheduler, but are not expected and will be ignored").
 *
 * Errors read `config.<key>: expected …, got …`, or `<file>: expected key <key> to be …, got …` when
 * `options.file` names the file.
 *
 * @example
 * ```ts
 * optionsFromJSON({ _class_name: "VQDiffusionScheduler", num_vec_classes: 4097, beta_start: 0.1 }, { onWarning: console.warn });
 * // { numVecClasses: 4097 }, and a warning naming beta_start
 * ```
 */
export function optionsFromJSON(json: unknown, options: FromConfigOptions = {}): VQDiffusionSchedulerOptions {
  const { onWarning, file } = checkFromConfigOptions(options);
  const keyError = (key: string, expected: string, got: unknown) =>
    file === undefined ? argumentError(`config.${key}`, expected, got) : argumentError(`${file}: key ${key}`, expected, got);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw argumentError(file ?? "config", "a scheduler_config.json object", json);
  }
  const obj = json as Record<string, unknown>;
  if ("_class_name" in obj && obj._class_name !== CLASS_NAME) throw keyError("_class_name", `"${CLASS_NAME}"`, obj._class_name);
  const known = new Set<string>(KEYS.map(([, snake]) => snake));
  const unknown = Object.keys(obj).filter((key) => !key.startsWith("_") && !known.has(key));
  if (unknown.length > 0) {
    onWarning?.(
      `${file ?? "config"}: ignoring the keys ${unknown.join(", ")}, as diffusers does: ${CLASS_NAME} takes ${[...known].join(", ")}`,
    );
  }
  if (!("num_vec_classes" in obj)) throw keyError("num_vec_classes", "an integer >= 2", undefined);
  const out: Record<string, unknown> = {};
  for (const [camel, snake] of KEYS) {
    if (!(snake in obj)) continue;
    const v = obj[snake];
    if (typeof v !== "number") throw keyError(snake, "a number", v);
    out[camel] = v;
  }
  return out as unknown as VQDiffusionSchedulerOptions;
}

/** Checks {@link FromConfigOptions}. */
export function checkFromConfigOptions(options: FromConfigOptions): FromConfigOptions {
  if (typeof options !== "object" || options === null) throw argumentError("options", "{ onWarning?, file? }", options);
  checkOptionKeys(options, "options", { onWarning: true, file: true } satisfies OptionKeys<FromConfigOptions>);
  if (options.onWarning !== undefined && typeof options.onWarning !== "function") {
    throw argumentError("onWarning", "a function (message: string) => void", options.onWarning);
  }
  if (options.file !== undefined && typeof options.file !== "string") throw argumentError("file", "a string", options.file);
  return options;
}

/**
 * Writes resolved options as a `scheduler_config.json` object, keys sorted as diffusers sorts them.
 *
 * @example
 * ```ts
 * configToJSON(resolveConfig({ numVecClasses: 17 }))._class_name; // "VQDiffusionScheduler"
 * ```
 */
export function configToJSON(config: VQDiffusionSchedulerConfig): SchedulerConfigJSON {
  const entries: [string, unknown][] = KEYS.map(([camel, snake]) => [snake, config[camel]]);
  entries.sort(([a], [b]) => (a < b ? -1 : 1));
  return { _class_name: CLASS_NAME, ...Object.fromEntries(entries) } as SchedulerConfigJSON;
}

