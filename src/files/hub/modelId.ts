/**
 * Hugging Face Hub model ids (`org/name`) and revisions, checked before any request is made.
 *
 * The rules are huggingface_hub's `validate_repo_id` narrowed to the two-part form: each part starts
 * and ends with a letter or digit and holds only letters, digits, `.`, `_`, `-`; no `--` or `..`
 * (the cache folder is `models--org--name`, so `--` would be ambiguous); at most 96 characters in
 * all; the name does not end in `.git`. A revision is a branch, a tag or a 40-hex commit: it becomes
 * a path under the cache's `refs/` folder, so it must not climb out of it.
 */
import { describe } from "../../errors.js";

/** A checked model id. */
export interface ModelId {
  /** `org/name`, as given. */
  readonly id: string;
  readonly org: string;
  readonly name: string;
}

const PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const MAX_ID_LENGTH = 96;
const MAX_REVISION_LENGTH = 256;
const REVISION = /^[A-Za-z0-9._/-]+$/;

/**
 * A 40-hex git commit id.
 *
 * @example
 * ```ts
 * COMMIT_HASH.test("0123456789abcdef0123456789abcdef01234567"); // true
 * ```
 */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/**
 * Whether `value` has the form of a Hub model id: `org/name`, nothing before or after.
 * A string with one `/` that is not a valid id is still "meant as an id" when it has no path or URL
 * prefix; {@link parseModelId} then says what is wrong with it.
 *
 * @example
 * ```ts
 * isModelIdForm("microsoft/vq-diffusion-ithq"); // true
 * isModelIdForm("./models/fashion-mnist");      // false (a folder)
 * ```
 */
export function isModelIdForm(value: string): boolean {
  return value.split("/").length === 2 && !/^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|\.{1,2}\/|\/|~)/.test(value);
}

/**
 * Checks a Hub model id; throws an `Error` naming `argument`, the rule and the value.
 *
 * @example
 * ```ts
 * parseModelId("org/vq-diffusion-tiny"); // { id: "org/vq-diffusion-tiny", org: "org", name: "vq-diffusion-tiny" }
 * ```
 */
export function parseModelId(value: unknown, argument = "model"): ModelId {
  const expected = "a Hub model id org/name (letters, digits, '.', '_', '-'; each part starting and ending with a letter or digit; no '--' or '..'; at most 96 characters)";
  if (typeof value !== "string") throw new Error(`${argument}: expected ${expected}, got ${describe(value)}`);
  const parts = value.split("/");
  const ok =
    value.length <= MAX_ID_LENGTH &&
    parts.length === 2 &&
    parts.every((p) => PART.test(p)) &&
    !value.includes("--") &&
    !value.includes("..") &&
    !parts[1].endsWith(".git");
  if (!ok) throw new Error(`${argument}: expected ${expected}, got ${describe(value)}`);
  return { id: value, org: parts[0], name: parts[1] };
}

/**
 * Checks a revision (branch, tag, or commit); throws naming `revision`.
 *
 * @example
 * ```ts
 * checkRevision("main"); checkRevision("refs/pr/1"); checkRevision("0123456789abcdef0123456789abcdef01234567");
 * ```
 */
export function checkRevision(value: unknown): string {
  const expected = `a branch, tag or commit (letters, digits, '.', '_', '-', '/'; no empty or '..' segment; at most ${MAX_REVISION_LENGTH} characters)`;
  if (typeof value !== "string" || value.length > MAX_REVISION_LENGTH || !REVISION.test(value) || value.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new Error(`revision: expected ${expected}, got ${describe(value)}`);
  }
  return value;
}
