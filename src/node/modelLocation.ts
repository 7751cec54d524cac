/**
 * What a model argument names (`fromPretrained(model)` in vq-diffusion/node, `--model` in the CLI),
 * by one rule, in this order (docs/model-folder.md, "Naming a model"):
 *
 * | the argument | names |
 * | --- | --- |
 * | `http://…` or `https://…` | a folder served over HTTP |
 * | a `file:` URL, an absolute path, or one starting with `./` or `../` (or `.`, `..`) | a folder on disk |
 * | any other path of an existing folder (`models/fashion-mnist`, relative to the working directory) | that folder |
 * | a bare name without a slash that is a bundled model (`fashion-mnist`) | that bundled model |
 * | `org/name` (one slash, Hub characters) | a Hugging Face Hub repository (fetched into huggingface_hub's cache) |
 *
 * An existing folder comes before a bundled name and a Hub id, as in diffusers' and transformers'
 * `from_pretrained` (`os.path.isdir(pretrained_model_name_or_path)` is their first test). Anything
 * else (a bare name that is neither, `a/b/c` that is no folder, another URL scheme) is refused.
 */
import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { argumentErrorText, describe } from "../errors.js";
import { BUNDLED_MODELS, bundledModelFolder } from "./bundledModels.js";

/** Where a model argument points; `kind` says how it is loaded. */
export type ModelLocation =
  | { readonly kind: "bundled"; readonly name: string; readonly path: string }
  | { readonly kind: "folder"; readonly path: string }
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "hub"; readonly repoId: string };

/** The forms a model argument may take, for messages. */
export function modelForms(): string {
  return `a bundled model (${Object.keys(BUNDLED_MODELS).join(", ")}), a folder (an existing one, or a path starting with ./, ../ or /), an http(s):// URL, or a Hub model id org/name`;
}

/** A Hub repository id: `org/name`, each part of letters, digits, `-`, `_`, `.` (not starting with `.` or `-`). */
const HUB_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\/[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Whether `path` (relative to the working directory) is an existing folder, as Python's `os.path.isdir` (links followed; any error is "no"). */
function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Classifies a model argument by the rule above. Reads nothing from disk but whether the argument
 * is an existing folder (one `stat`).
 *
 * @param model - what the caller wrote.
 * @param name - the argument's name in messages (`pretrainedModelNameOrPath`, or `--model` in the CLI).
 * @throws Error naming `name` when `model` is not a string, is empty, or matches no case.
 *
 * @example
 * ```ts
 * modelLocation("fashion-mnist", "model");  // { kind: "bundled", name: "fashion-mnist", path: "/…/models/fashion-mnist" }
 * modelLocation("./my-model", "model");     // { kind: "folder", path: "/home/me/app/my-model" }
 * modelLocation("models/my-model", "model"); // { kind: "folder", path: "/home/me/app/models/my-model" } when that folder exists
 * modelLocation("microsoft/vq-diffusion-ithq", "model"); // { kind: "hub", repoId: "microsoft/vq-diffusion-ithq" } (no such folder here)
 * ```
 */
export function modelLocation(model: string, name: string): ModelLocation {
  if (typeof model !== "string" || model === "") throw argumentErrorText(name, modelForms(), describe(model));
  if (/^https?:\/\//i.test(model)) return { kind: "url", url: model };
  if (/^file:/i.test(model)) {
    try {
      return { kind: "folder", path: fileURLToPath(model) };
    } catch (e) {
      throw argumentErrorText(name, "a file: URL of a folder (file:///path)", `${describe(model)} (${(e as Error).message})`);
    }
  }
  if (isAbsolute(model) || /^\.\.?([/\\]|$)/.test(model)) return { kind: "folder", path: resolve(model) };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(model)) throw argumentErrorText(name, modelForms(), `${describe(model)}, a URL of another scheme`);
  if (isFolder(model)) return { kind: "folder", path: resolve(model) };
  if (!/[/\\]/.test(model)) {
    const path = bundledModelFolder(model);
    if (path !== undefined) return { kind: "bundled", name: model, path };
    throw argumentErrorText(name, modelForms(), `${describe(model)}, which is neither a folder in the working directory nor a bundled model`);
  }
  if (HUB_ID.test(model)) return { kind: "hub", repoId: model };
  throw argumentErrorText(name, modelForms(), `${describe(model)}, which is no folder in the working directory, nor a Hub id org/name`);
}
