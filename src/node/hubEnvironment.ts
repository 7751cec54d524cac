/**
 * The environment a Hugging Face user already sets, read as Python's huggingface_hub reads it (its
 * `constants.py` and `utils/_auth.py`; diffusers and transformers take these from it):
 *
 * | variable | huggingface_hub's rule |
 * | --- | --- |
 * | `HF_HUB_OFFLINE`, else `TRANSFORMERS_OFFLINE` | `_is_true(os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE"))`: on for 1, ON, YES, TRUE in any case |
 * | `HF_HOME` | `expandvars(expanduser(HF_HOME or join(XDG_CACHE_HOME or ~/.cache, "huggingface")))` |
 * | `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE` | `expandvars(expanduser(… or $HF_HOME/hub))` |
 * | `HF_TOKEN_PATH` | `expandvars(expanduser(HF_TOKEN_PATH or $HF_HOME/token))` |
 * | `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the token file | `_clean_token`: CR and LF removed, spaces trimmed, empty is none |
 * | `HF_ENDPOINT` | the Hub's URL |
 * | `HF_HUB_ETAG_TIMEOUT` | seconds to wait for the Hub's metadata answers (`_as_int(…) or 10`) |
 * | `HF_HUB_DOWNLOAD_TIMEOUT` | seconds a download may wait for its answer or its next bytes (`_as_int(…) or 10`) |
 *
 * The `cacheDir` option is expanded as huggingface_hub expands its `cache_dir` argument:
 * `Path(cache_dir).expanduser()`, `~` only, no variables.
 */
import { readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { describe } from "../errors.js";

/** The environment as the functions here read it (`process.env` by default). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** huggingface_hub's `ENV_VARS_TRUE_VALUES`. */
const TRUE_VALUES = new Set(["1", "ON", "YES", "TRUE"]);

/** huggingface_hub's `DEFAULT_ETAG_TIMEOUT` and `DEFAULT_DOWNLOAD_TIMEOUT`, in seconds. */
const DEFAULT_TIMEOUT_S = 10;

/**
 * Whether an environment value is on, as huggingface_hub's `_is_true`: 1, ON, YES or TRUE in any
 * case; anything else (unset, empty, 0, `y`, ` 1`) is off.
 *
 * @example
 * ```ts
 * isTrue("yes"); // true
 * isTrue("0");   // false
 * ```
 */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE_VALUES.has(value.toUpperCase());
}

/**
 * Whether the environment asks for offline use: `HF_HUB_OFFLINE`, or when that is unset or empty,
 * `TRANSFORMERS_OFFLINE` (Python's `or` of the two strings, then `_is_true`).
 *
 * @example
 * ```ts
 * hubOffline({ TRANSFORMERS_OFFLINE: "1" });                      // true
 * hubOffline({ HF_HUB_OFFLINE: "0", TRANSFORMERS_OFFLINE: "1" }); // false: HF_HUB_OFFLINE is set
 * ```
 */
export function hubOffline(env: Environment = process.env): boolean {
  return isTrue(env.HF_HUB_OFFLINE || env.TRANSFORMERS_OFFLINE || undefined);
}

/** The home folder `~` stands for: HOME (USERPROFILE on Windows) as Python's `expanduser` reads it, else the system's. */
function home(env: Environment): string {
  return (process.platform === "win32" ? env.USERPROFILE : env.HOME) || homedir();
}

/** The home folder of `user` (a `~user` prefix): this process's user from the system, another from /etc/passwd; undefined when unknown. */
function homeOf(user: string): string | undefined {
  const me = userInfo();
  if (user === me.username) return me.homedir;
  if (process.platform === "win32") return undefined;
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const fields = line.split(":");
      if (fields[0] === user && fields.length >= 7) return fields[5];
    }
  } catch {
    // no passwd file: the user is unknown
  }
  return undefined;
}

/**
 * A leading `~` or `~user` replaced by that home folder, as Python's `os.path.expanduser` (a `~`
 * elsewhere stays). An unknown user is an error naming `name`, as `Path.expanduser` raises.
 */
function expandUser(path: string, name: string, env: Environment): string {
  const m = (process.platform === "win32" ? /^~([^/\\]*)(?=$|[/\\])/ : /^~([^/]*)(?=$|\/)/).exec(path);
  if (m === null) return path;
  const dir = m[1] === "" ? home(env) : homeOf(m[1]);
  if (dir === undefined) throw new Error(`${name}: expected a path whose leading ~user names a user of this system, got ${describe(path)}`);
  return dir + path.slice(m[0].length);
}

/**
 * `$name` and `${name}` replaced by the variable's value, as Python's `os.path.expandvars` on POSIX
 * (`\$(\w+|\{[^}]*\})`, ASCII word characters; an unset variable stays as written; a value is not
 * expanded again). On Windows, `%name%` too.
 */
function expandVars(path: string, env: Environment): string {
  const pattern = process.platform === "win32" ? /\$(\w+)|\$\{([^}]*)\}|%([^%]+)%/g : /\$(\w+)|\$\{([^}]*)\}/g;
  return path.replace(pattern, (whole, plain: string | undefined, braced: string | undefined, percent: string | undefined) => {
    const value = env[plain ?? braced ?? percent ?? ""];
    return value === undefined ? whole : value;
  });
}

/** A path from the environment variable `name`: `expandvars(expanduser(value))`. */
function environmentPath(value: string, name: string, env: Environment): string {
  return expandVars(expandUser(value, name, env), env);
}

/**
 * huggingface_hub's `HF_HOME`: `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else
 * `~/.cache/huggingface`, with `~` and `$VAR` expanded.
 *
 * @throws Error naming the variable when a `~user` names no user of this system.
 *
 * @example
 * ```ts
 * hfHome({ HOME: "/home/me", HF_HOME: "~/hf" }); // "/home/me/hf"
 * ```
 */
export function hfHome(env: Environment = process.env): string {
  if (env.HF_HOME) return environmentPath(env.HF_HOME, "HF_HOME", env);
  const base = env.XDG_CACHE_HOME || join(home(env), ".cache");
  return environmentPath(join(base, "huggingface"), "XDG_CACHE_HOME", env);
}

/**
 * huggingface_hub's `HF_ASSETS_CACHE`, where libraries built on the Hub keep their own files
 * (`cached_assets_path`): `$HF_ASSETS_CACHE`, else `$HF_HOME/assets`, with `~` and `$VAR` expanded,
 * resolved against the working directory.
 *
 * @throws Error naming the variable when a `~user` names no user of this system.
 *
 * @example
 * ```ts
 * hfAssetsCache({ HOME: "/home/me" }); // "/home/me/.cache/huggingface/assets"
 * ```
 */
export function hfAssetsCache(env: Environment = process.env): string {
  return resolve(env.HF_ASSETS_CACHE ? environmentPath(env.HF_ASSETS_CACHE, "HF_ASSETS_CACHE", env) : join(hfHome(env), "assets"));
}

/**
 * The cache folder, absolute: `cacheDir` (with a leading `~` expanded, as huggingface_hub's
 * `Path(cache_dir).expanduser()`), else `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`,
 * else `$HF_HOME/hub` (each variable with `~` and `$VAR` expanded), resolved against the working
 * directory.
 *
 * @throws Error naming `cacheDir` or the variable when a `~user` names no user of this system.
 *
 * @example
 * ```ts
 * hubCacheDir();                 // e.g. "/home/me/.cache/huggingface/hub"
 * hubCacheDir("~/models-cache"); // "/home/me/models-cache"
 * ```
 */
export function hubCacheDir(cacheDir?: string, env: Environment = process.env): string {
  if (cacheDir !== undefined) return resolve(expandUser(cacheDir, "cacheDir", env));
  if (env.HF_HUB_CACHE) return resolve(environmentPath(env.HF_HUB_CACHE, "HF_HUB_CACHE", env));
  if (env.HUGGINGFACE_HUB_CACHE) return resolve(environmentPath(env.HUGGINGFACE_HUB_CACHE, "HUGGINGFACE_HUB_CACHE", env));
  const hub = join(hfHome(env), "hub");
  return isAbsolute(hub) ? hub : resolve(hub);
}

/**
 * The token huggingface_hub would send: `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file
 * `HF_TOKEN_PATH` (default `$HF_HOME/token`, where `hf auth login` saves it); each cleaned as its
 * `_clean_token` (CR and LF removed, spaces trimmed); undefined when there is none.
 *
 * @example
 * ```ts
 * hubToken({ HF_TOKEN: "hf_abc\n" }); // "hf_abc"
 * ```
 */
export function hubToken(env: Environment = process.env): string | undefined {
  const clean = (token: string | undefined) => token?.replace(/[\r\n]/g, "").trim() || undefined;
  const fromEnv = clean(env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN);
  if (fromEnv !== undefined) return fromEnv;
  try {
    const path = env.HF_TOKEN_PATH ? environmentPath(env.HF_TOKEN_PATH, "HF_TOKEN_PATH", env) : join(hfHome(env), "token");
    return clean(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Whole seconds from an environment value as huggingface_hub's `_as_int(…) or 10` (unset, 0 or not an integer is 10), in ms. */
function secondsOrDefault(value: string | undefined): number {
  const raw = value?.trim();
  const seconds = raw !== undefined && /^[+-]?\d+$/.test(raw) ? Number(raw) : 0;
  return (seconds > 0 ? seconds : DEFAULT_TIMEOUT_S) * 1000;
}

/**
 * How long to wait for the Hub's answer to a metadata request, in milliseconds: huggingface_hub's
 * `HF_HUB_ETAG_TIMEOUT` (whole seconds, `_as_int(…) or 10`: unset, 0 or not an integer is 10 s).
 *
 * @example
 * ```ts
 * hubMetadataTimeoutMs({ HF_HUB_ETAG_TIMEOUT: "30" }); // 30000
 * ```
 */
export function hubMetadataTimeoutMs(env: Environment = process.env): number {
  return secondsOrDefault(env.HF_HUB_ETAG_TIMEOUT);
}

/**
 * How long a download may wait for its answer, or for its next bytes, in milliseconds:
 * huggingface_hub's `HF_HUB_DOWNLOAD_TIMEOUT` (its read timeout; `_as_int(…) or 10`).
 *
 * @example
 * ```ts
 * hubDownloadTimeoutMs({}); // 10000
 * ```
 */
export function hubDownloadTimeoutMs(env: Environment = process.env): number {
  return secondsOrDefault(env.HF_HUB_DOWNLOAD_TIMEOUT);
}
