/**
 * White space as the tokenizers library (Rust) reads it, under @huggingface/tokenizers 0.2.0 (the newest
 * published version, pinned).
 *
 * Rust's tokenizers split and strip on Unicode's White_Space property: its regex `\s` and
 * `char::is_whitespace` are both White_Space. A few JavaScript parts of @huggingface/tokenizers use
 * JavaScript's `\s` and `String.prototype.trim` instead, which differ from White_Space on exactly two code
 * points (ECMAScript's WhiteSpace + LineTerminator vs Unicode's PropList.txt):
 * - U+FEFF (the byte order mark) is white space for JavaScript, not for Rust;
 * - U+0085 (next line) is white space for Rust, not for JavaScript.
 * So "a\uFEFF." gives other CLIP ids than transformers (the ByteLevel pre-tokenizer cuts the BOM from the
 * full stop), and the word-level tokenizer keeps "\u0085" as a word.
 *
 * The library's own translation of tokenizer.json regexes (`Split`, `Replace`) already maps `\s` to
 * White_Space; what this module fixes is the parts written with JavaScript's classes, on a constructed
 * tokenizer, through the fields and methods the library's types declare public:
 * - `ByteLevel` (use_regex): its pattern, GPT-2's, with `\s` / `\S` as White_Space;
 * - `WhitespaceSplit`: runs of non-White_Space;
 * - `Whitespace`: Rust's `\w+|[^\w\s]+` with Unicode's `\w` (JavaScript's is ASCII only) and White_Space;
 * - `BertPreTokenizer`: words between White_Space and punctuation, the text trimmed of White_Space;
 * - the `Strip` normalizer: trims White_Space.
 * Nested `Sequence`s of either kind are walked. Recorded ids: tools/fixtures/record_tokenizer_corners.py.
 */
import * as library from "@huggingface/tokenizers";
import type { Tokenizer } from "@huggingface/tokenizers";

/** The parts of @huggingface/tokenizers' classes used here (its bundled types do not resolve under NodeNext). */
interface PreTokenizer {
  pre_tokenize_text(text: string): string[];
}
interface Normalizer {
  normalize(text: string): string;
}
type Class<T> = abstract new (...args: never[]) => T;
const classes = library as unknown as {
  SequencePreTokenizer: Class<PreTokenizer & { tokenizers: (PreTokenizer | null)[] }>;
  ByteLevelPreTokenizer: Class<PreTokenizer & { pattern: RegExp }>;
  WhitespaceSplitPreTokenizer: Class<PreTokenizer>;
  WhitespacePreTokenizer: Class<PreTokenizer>;
  BertPreTokenizer: Class<PreTokenizer>;
  SequenceNormalizer: Class<Normalizer & { normalizers: (Normalizer | null)[] }>;
  StripNormalizer: Class<Normalizer & { config: { strip_left?: boolean; strip_right?: boolean } }>;
};

/** GPT-2's pre-tokenization pattern (Rust's `ByteLevel` `RE`), its `\s` read as White_Space. */
const BYTE_LEVEL_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
/** Rust regex's Unicode `\w` (UTS #18 Annex C): Alphabetic, marks, decimal digits, connector punctuation, joiners. */
const WORD = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
const WHITESPACE_PATTERN = new RegExp(`[${WORD}]+|[^${WORD}\\p{White_Space}]+`, "gu");
/** Rust's `is_bert_punc`: ASCII punctuation or Unicode's P categories. */
const PUNCTUATION = "\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E";
const BERT_PATTERN = new RegExp(`[^\\p{White_Space}${PUNCTUATION}]+|[${PUNCTUATION}]`, "gu");
const LEADING = /^\p{White_Space}+/u;
const TRAILING = /\p{White_Space}+$/u;

/**
 * Trims Unicode White_Space (Rust's `str::trim`), not JavaScript's `trim` set.
 *
 * @param text - any string.
 * @param start - trim the start.
 * @param end - trim the end.
 * @example
 * ```ts
 * trimWhiteSpace("\u0085 a\uFEFF", true, true); // "a\uFEFF"
 * ```
 */
export function trimWhiteSpace(text: string, start: boolean, end: boolean): string {
  let out = text;
  if (start) out = out.replace(LEADING, "");
  if (end) out = out.replace(TRAILING, "");
  return out;
}

function fixPreTokenizer(node: unknown): void {
  if (node instanceof classes.SequencePreTokenizer) node.tokenizers.forEach(fixPreTokenizer);
  else if (node instanceof classes.ByteLevelPreTokenizer) node.pattern = new RegExp(BYTE_LEVEL_PATTERN);
  else if (node instanceof classes.WhitespaceSplitPreTokenizer) node.pre_tokenize_text = (text: string) => text.match(/\P{White_Space}+/gu) ?? [];
  else if (node instanceof classes.WhitespacePreTokenizer) node.pre_tokenize_text = (text: string) => text.match(WHITESPACE_PATTERN) ?? [];
  else if (node instanceof classes.BertPreTokenizer) node.pre_tokenize_text = (text: string) => trimWhiteSpace(text, true, true).match(BERT_PATTERN) ?? [];
}

function fixNormalizer(node: unknown): void {
  if (node instanceof classes.SequenceNormalizer) node.normalizers.forEach(fixNormalizer);
  else if (node instanceof classes.StripNormalizer) {
    const config = node.config;
    node.normalize = (text: string) => trimWhiteSpace(text, config.strip_left === true, config.strip_right === true);
  }
}

/**
 * Makes a freshly constructed @huggingface/tokenizers `Tokenizer` read white space as Rust's tokenizers
 * does (see the module comment), in place, and returns it.
 *
 * @param tokenizer - a tokenizer this code constructed (its pre-tokenizers and normalizers are changed).
 * @returns the same tokenizer.
 * @example
 * ```ts
 * const tokenizer = withRustWhiteSpace(new Tokenizer(tokenizerJson, config));
 * tokenizer.encode("a\uFEFF."); // the BOM and the full stop in one piece, as transformers splits them
 * ```
 */
export function withRustWhiteSpace(tokenizer: Tokenizer): Tokenizer {
  fixPreTokenizer(tokenizer.pre_tokenizer);
  fixNormalizer(tokenizer.normalizer);
  return tokenizer;
}
