/**
 * The special tokens of `tokenizer/tokenizer_config.json`, read as transformers reads them
 * (`PreTrainedTokenizerBase.from_pretrained` → `convert_added_tokens`, then the tokenizer's
 * `__init__`):
 * - a special token (`bos_token`, `eos_token`, `unk_token`, `sep_token`, `pad_token`, `cls_token`,
 *   `mask_token`) is a string, or an AddedToken object `{"__type": "AddedToken", "content": "[PAD]",
 *   "lstrip": …}` standing for its `content`; `null` or an absent key means none; any other value is
 *   refused (transformers raises a TypeError);
 * - `additional_special_tokens` / `extra_special_tokens` hold the same, as a list;
 * - the pad token is `pad_token` when the key is present; only when it is absent does `tokenizer.json`'s
 *   `padding.pad_token` stand in (transformers' `kwargs.setdefault("pad_token", padding["pad_token"])`).
 *   The pad id is that token's id: `tokenizer.json`'s `padding.pad_id` is never used, so when the two
 *   files disagree the pad comes from `pad_token`, as transformers' `set_truncation_and_padding` does.
 */
import { describe } from "../errors.js";
import type { JsonObject } from "../files/json.js";

const FILE = "tokenizer/tokenizer_config.json";

/** transformers' `SPECIAL_TOKENS_ATTRIBUTES`: the keys that name one special token each. */
const SPECIAL_TOKEN_KEYS = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] as const;
const SPECIAL_TOKEN_LISTS = ["additional_special_tokens", "extra_special_tokens"] as const;

/**
 * The text of one special token value: a string, or an AddedToken object's `content`.
 *
 * @param value - the value as the JSON file holds it.
 * @param key - where it was found (e.g. `pad_token`, `additional_special_tokens[2]`), for the error.
 * @returns the token's text, or null for `null` / `undefined`.
 * @throws Error naming tokenizer/tokenizer_config.json and the key, for any other value.
 * @example
 * ```ts
 * specialTokenText({ __type: "AddedToken", content: "[PAD]", lstrip: false }, "pad_token"); // "[PAD]"
 * ```
 */
export function specialTokenText(value: unknown, key: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "object" && !Array.isArray(value)) {
    const token = value as Record<string, unknown>;
    if (token.__type === "AddedToken" && typeof token.content === "string") return token.content;
  }
  throw new Error(`${FILE}: expected key ${key} to be a string or {"__type": "AddedToken", "content": string, ...}, got ${describe(value)}`);
}

/**
 * A copy of tokenizer_config.json whose special tokens are all plain strings (AddedToken objects
 * replaced by their content; `null` keys dropped): the form @huggingface/tokenizers reads. The input is
 * not modified.
 *
 * @example
 * ```ts
 * plainSpecialTokens({ pad_token: { __type: "AddedToken", content: "[PAD]" } }); // { pad_token: "[PAD]" }
 * ```
 */
export function plainSpecialTokens(config: JsonObject): JsonObject {
  const out: JsonObject = { ...config };
  for (const key of SPECIAL_TOKEN_KEYS) {
    if (!(key in config)) continue;
    const text = specialTokenText(config[key], key);
    if (text === null) delete out[key];
    else out[key] = text;
  }
  for (const key of SPECIAL_TOKEN_LISTS) {
    const list = config[key];
    if (list === undefined || list === null) continue;
    // transformers 5 also accepts extra_special_tokens as a {name: token} object.
    const entries = Array.isArray(list) ? list.map((v, i) => [`${key}[${i}]`, v] as const) : typeof list === "object" ? Object.entries(list).map(([k, v]) => [`${key}.${k}`, v] as const) : null;
    if (entries === null) throw new Error(`${FILE}: expected key ${key} to be a list of tokens, got ${describe(list)}`);
    out[key] = entries.map(([where, v]) => specialTokenText(v, where)).filter((v): v is string => v !== null);
  }
  return out;
}

/**
 * The pad token's text: tokenizer_config.json's `pad_token` when that key is present (even when
 * tokenizer.json's `padding` names another), else tokenizer.json's `padding.pad_token`.
 *
 * @returns the text, or null when neither file names one (an explicit `"pad_token": null` included).
 * @throws Error naming tokenizer/tokenizer_config.json when `pad_token` is neither a string nor an AddedToken object.
 * @example
 * ```ts
 * padTokenText({ padding: { pad_id: 0, pad_token: "!" } }, { pad_token: "<|endoftext|>" }); // "<|endoftext|>"
 * padTokenText({ padding: { pad_id: 0, pad_token: "!" } }, {}); // "!"
 * ```
 */
export function padTokenText(tokenizerJson: JsonObject, config: JsonObject): string | null {
  if ("pad_token" in config) return specialTokenText(config.pad_token, "pad_token");
  const padding = tokenizerJson.padding;
  if (typeof padding === "object" && padding !== null && !Array.isArray(padding)) {
    const token = (padding as Record<string, unknown>).pad_token;
    if (typeof token === "string") return token;
  }
  return null;
}
