/**
 * Added tokens marked `"normalized": false` in tokenizer.json, matched on the raw text only, as the
 * tokenizers library (Rust, `AddedVocabulary::extract_and_normalize`) does: the raw text is split on these
 * tokens first (leftmost-longest matches), and only the text between them is normalized, split on the
 * normalized added tokens, pre-tokenized and modelled.
 *
 * @huggingface/tokenizers 0.2.0 splits the raw text the same way, but then takes any normalized piece that
 * equals an added token's content for that token, normalized or not: under CLIP's lower-casing,
 * "<|ENDOFTEXT|>" typed as a whole prompt became the end token, where transformers gives its ordinary
 * pieces. So these tokens are split here, and the library only sees the text between them (and a
 * tokenizer.json without them, see {@link RawAddedTokens.from}).
 *
 * Per token: `lstrip` / `rstrip` take the White_Space before / after the match into it (Rust's
 * `char::is_whitespace`); `single_word` keeps a match only when no word character (Unicode `\w`) touches
 * it on either side. A token whose `normalized` key is absent counts as raw when `special` is true
 * (tokenizers' default).
 */
import { describe } from "../errors.js";
import type { JsonObject } from "../files/json.js";

/** One added token matched on the raw text. */
export interface RawAddedToken {
  /** Its id. */
  id: number;
  /** Its text, matched exactly (case included). */
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** A piece of a split text: ordinary text, or one raw added token. */
export type RawPiece = { text: string } | { token: RawAddedToken };

const FILE = "tokenizer/tokenizer.json";
const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const LEADING = /^\p{White_Space}+/u;
const TRAILING = /\p{White_Space}+$/u;

function flag(token: JsonObject, key: string, where: string, fallback: boolean): boolean {
  const value = token[key];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new Error(`${FILE}: expected ${where}.${key} to be true or false, got ${describe(value)}`);
  return value;
}

/** The raw (unnormalized) added tokens of one tokenizer.json, and the splitter of a text on them. */
export class RawAddedTokens {
  private readonly byContent: Map<string, RawAddedToken>;

  private constructor(readonly tokens: readonly RawAddedToken[]) {
    this.byContent = new Map(tokens.map((token) => [token.content, token]));
  }

  /**
   * Reads tokenizer.json's `added_tokens` (not modified).
   *
   * @param tokenizerJson - tokenizer.json's object.
   * @returns the raw tokens, and a copy of tokenizer.json whose `added_tokens` keeps only the others (the
   *   copy @huggingface/tokenizers is given).
   * @throws Error naming tokenizer/tokenizer.json for an `added_tokens` that is not a list of
   *   `{id: integer ≥ 0, content: non-empty string, …}` with boolean flags.
   * @example
   * ```ts
   * const { raw, rest } = RawAddedTokens.from({ added_tokens: [{ id: 0, content: "[PAD]", normalized: false, special: true }] });
   * raw.split("a [PAD]"); // [{ text: "a " }, { token: { id: 0, content: "[PAD]", … } }]
   * rest.added_tokens; // []
   * ```
   */
  static from(tokenizerJson: JsonObject): { raw: RawAddedTokens; rest: JsonObject } {
    const list = tokenizerJson.added_tokens ?? [];
    if (!Array.isArray(list)) throw new Error(`${FILE}: expected added_tokens to be a list, got ${describe(list)}`);
    const raw: RawAddedToken[] = [];
    const others: unknown[] = [];
    list.forEach((entry: unknown, i) => {
      const where = `added_tokens[${i}]`;
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new Error(`${FILE}: expected ${where} to be an object, got ${describe(entry)}`);
      const token = entry as JsonObject;
      if (typeof token.content !== "string" || token.content === "") throw new Error(`${FILE}: expected ${where}.content to be a non-empty string, got ${describe(token.content)}`);
      if (typeof token.id !== "number" || !Number.isSafeInteger(token.id) || token.id < 0) throw new Error(`${FILE}: expected ${where}.id to be an integer ≥ 0, got ${describe(token.id)}`);
      const special = flag(token, "special", where, false);
      if (flag(token, "normalized", where, !special)) {
        others.push(entry);
        return;
      }
      raw.push({ id: token.id, content: token.content, lstrip: flag(token, "lstrip", where, false), rstrip: flag(token, "rstrip", where, false), singleWord: flag(token, "single_word", where, false) });
    });
    return { raw: new RawAddedTokens(raw), rest: { ...tokenizerJson, added_tokens: others } };
  }

  /**
   * The raw token whose content is `text`, if any.
   *
   * @example
   * ```ts
   * raw.get("[PAD]")?.id; // 0
   * ```
   */
  get(text: string): RawAddedToken | undefined {
    return this.byContent.get(text);
  }

  /**
   * Splits a raw text on the raw added tokens: leftmost-longest matches, `single_word` and
   * `lstrip` / `rstrip` applied (see the module comment). Empty text pieces are left out.
   *
   * @param text - the raw prompt.
   * @returns the pieces in order; their texts and tokens' contents make up `text` less the stripped white space.
   * @example
   * ```ts
   * raw.split("<|ENDOFTEXT|> <|endoftext|>"); // [{ text: "<|ENDOFTEXT|> " }, { token: { content: "<|endoftext|>", … } }]
   * ```
   */
  split(text: string): RawPiece[] {
    if (this.tokens.length === 0) return text === "" ? [] : [{ text }];
    const pieces: RawPiece[] = [];
    let pending = "";
    let i = 0;
    while (i < text.length) {
      let best: RawAddedToken | undefined;
      for (const token of this.tokens) {
        if ((best === undefined || token.content.length > best.content.length) && text.startsWith(token.content, i)) best = token;
      }
      if (best === undefined) {
        pending += text[i];
        i++;
        continue;
      }
      const end = i + best.content.length;
      const before = Array.from(text.slice(Math.max(0, i - 2), i)).at(-1) ?? " ";
      const after = String.fromCodePoint(text.codePointAt(end) ?? 0x20);
      if (best.singleWord && (WORD_CHAR.test(before) || WORD_CHAR.test(after))) {
        // A rejected match is skipped whole, as Rust's non-overlapping match iteration does.
        pending += text.slice(i, end);
        i = end;
        continue;
      }
      if (best.lstrip) pending = pending.replace(TRAILING, "");
      if (pending !== "") pieces.push({ text: pending });
      pieces.push({ token: best });
      pending = "";
      i = end;
      if (best.rstrip) i += LEADING.exec(text.slice(i))?.[0].length ?? 0;
    }
    if (pending !== "") pieces.push({ text: pending });
    return pieces;
  }
}
