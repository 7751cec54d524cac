/**
 * Lower-casing as the tokenizers library (Rust) does it: code point by code point
 * (`NormalizedString::lowercase` maps each `char` with `char::to_lowercase`), so "ΟΔΟΣ" gives "οδοσ".
 *
 * @huggingface/tokenizers lower-cases with JavaScript's `String.prototype.toLowerCase`, which applies
 * Unicode's one context-dependent, language-independent rule (SpecialCasing.txt, Final_Sigma): a Σ
 * (U+03A3) at the end of a word becomes ς (U+03C2) instead of σ (U+03C3). Every other mapping of
 * `toLowerCase` (no locale) is per code point and agrees with Rust's, İ → "i̇" included. Python's
 * `str.lower()` applies Final_Sigma too ("ΟΔΟΣ".lower() == "οδος"), so the recorded CLIP ids follow
 * neither: they follow Rust's per-code-point mapping.
 *
 * The fix is made in the tokenizer.json normalizer config, before @huggingface/tokenizers reads it:
 * every normalizer that lower-cases (`Lowercase`, `BertNormalizer` with `lowercase`) is preceded by
 * `Replace("Σ" → "σ")`. σ lower-cases to itself, so the result is the per-code-point lower case.
 */
import type { JsonObject } from "../files/json.js";

/** Σ → σ: what `toLowerCase` would otherwise turn into the final-sigma ς at a word's end. */
const CAPITAL_SIGMA_TO_SMALL: JsonObject = { type: "Replace", pattern: { String: "\u03A3" }, content: "\u03C3" };

/** Sequences nested deeper than this are refused (the config is data from strangers). */
const MAX_DEPTH = 64;

function lowercases(node: JsonObject): boolean {
  return node.type === "Lowercase" || (node.type === "BertNormalizer" && node.lowercase === true);
}

function rewrite(node: unknown, depth: number): unknown {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return node;
  const n = node as JsonObject;
  if (lowercases(n)) return { type: "Sequence", normalizers: [CAPITAL_SIGMA_TO_SMALL, n] };
  if (n.type === "Sequence" && Array.isArray(n.normalizers)) {
    if (depth >= MAX_DEPTH) throw new Error(`tokenizer/tokenizer.json: expected normalizer Sequences nested at most ${MAX_DEPTH} deep, got deeper`);
    return { ...n, normalizers: n.normalizers.map((child) => rewrite(child, depth + 1)) };
  }
  return n;
}

/**
 * A copy of tokenizer.json whose normalizer lower-cases per code point under @huggingface/tokenizers
 * (see the module comment). The input is not modified; a tokenizer that does not lower-case comes
 * back equal.
 *
 * @param tokenizerJson - tokenizer.json's object.
 * @throws Error naming tokenizer/tokenizer.json when normalizer Sequences nest more than 64 deep.
 * @example
 * ```ts
 * perCodePointLowercase({ normalizer: { type: "Lowercase" } }).normalizer;
 * // { type: "Sequence", normalizers: [{ type: "Replace", pattern: { String: "Σ" }, content: "σ" }, { type: "Lowercase" }] }
 * ```
 */
export function perCodePointLowercase(tokenizerJson: JsonObject): JsonObject {
  if (!("normalizer" in tokenizerJson)) return tokenizerJson;
  return { ...tokenizerJson, normalizer: rewrite(tokenizerJson.normalizer, 0) };
}
