/**
 * The prompt tokenizer: `tokenizer/tokenizer.json` (Hugging Face tokenizers format) read by
 * @huggingface/tokenizers with `tokenizer_config.json`, giving the ids diffusers' `VQDiffusionPipeline`
 * passes to its text encoder (`_encode_prompt`), row by row, shape [P, L]:
 *
 *   prompt:   tokenizer(prompt, padding="max_length", max_length=L).input_ids[:, :L]
 *             no truncation: a row over L ids keeps its first L, so the end token is dropped;
 *             diffusers logs the removed text, and so does this one (through `onWarning`)
 *   negative: tokenizer([""] * P, padding="max_length", max_length=L, truncation=True)
 *             (guidance without learned null embeddings; with truncation the end token stays last)
 *
 * Pieces of a prompt that the vocabulary lacks (read as the unknown token) are reported through
 * `onWarning` too, by name. The pad token is tokenizer_config.json's `pad_token` (see specialTokens.ts);
 * lower-casing is per code point, as the Rust tokenizers library does (see perCodePointLowercase.ts);
 * white space is Unicode's White_Space, as Rust's (see rustWhitespace.ts); added tokens marked
 * `"normalized": false` match the raw text only (see rawAddedTokens.ts). tokenizer_config.json's
 * `padding_side` is honoured: "right" (the default) or "left" (pad ids first, as transformers pads).
 *
 * One difference from diffusers, kept on purpose: diffusers raises `ValueError` ("Unable to create
 * tensor …") for a list that mixes a prompt over L ids with shorter ones, because its rows come out
 * ragged before the cut. Here each prompt is cut as it would be alone, and the list is encoded.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { argumentErrorText, describe, shortText } from "../errors.js";
import type { JsonObject } from "../files/json.js";
import { perCodePointLowercase } from "./perCodePointLowercase.js";
import { RawAddedTokens } from "./rawAddedTokens.js";
import { withRustWhiteSpace } from "./rustWhitespace.js";
import { padTokenText, plainSpecialTokens } from "./specialTokens.js";

/** Receives a warning's text (a sentence; no trailing newline). */
export type WarningHandler = (message: string) => void;

/** Options of {@link PromptTokenizer.encode}. */
export interface PromptEncodeOptions {
  /**
   * transformers' `truncation=True` (diffusers' encoding of the unconditional ""): a row over L ids
   * keeps its first L − s content ids and its s special tokens (the end token last), silently.
   * Default false: the prompt's encoding (first L ids, with a warning naming what was cut).
   */
  truncation?: boolean;
  /** Called with each warning: unknown words, and (without truncation) prompts cut to L ids. */
  onWarning?: WarningHandler;
}

/** One prompt's tokenizer output, unpadded, special tokens included. */
interface Encoded {
  ids: number[];
  tokens: string[];
}

/** Tokenizes prompts to ids of shape [P, L]. */
export class PromptTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly raw: RawAddedTokens;
  /** tokenizer_config.json's `padding_side`: where the pad ids go in a row shorter than L. */
  readonly paddingSide: "right" | "left";
  /** The id that pads a prompt to L tokens: tokenizer_config.json's `pad_token`'s id. */
  readonly padId: number;

  /**
   * @param tokenizerJson - tokenizer.json (not modified).
   * @param config - tokenizer_config.json (not modified). Special tokens may be strings or AddedToken
   *   objects (`{"__type": "AddedToken", "content": …}`).
   * @param length - L.
   * @throws Error naming the file: a tokenizer @huggingface/tokenizers cannot read, a special token of
   *   another form, no pad token, a pad token outside the vocabulary, or a `padding_side` other than
   *   "right" or "left".
   * @example
   * ```ts
   * const tokenizer = new PromptTokenizer(
   *   { model: { type: "WordLevel", vocab: { "[PAD]": 0, "[UNK]": 1, bag: 2 }, unk_token: "[UNK]" },
   *     normalizer: { type: "Lowercase" }, pre_tokenizer: { type: "WhitespaceSplit" }, added_tokens: [],
   *     decoder: null, post_processor: null },
   *   { pad_token: "[PAD]", unk_token: "[UNK]" },
   *   4,
   * );
   * tokenizer.encode(["red BAG"], { onWarning: (m) => console.warn(m) }); // [1n, 2n, 0n, 0n], warns about "red"
   * ```
   */
  constructor(tokenizerJson: JsonObject, config: JsonObject, readonly length: number) {
    const plainConfig = plainSpecialTokens(config);
    // A WordLevel model's unknown token is its own (Rust's WordLevel); @huggingface/tokenizers reads it from the config.
    const model = tokenizerJson.model as JsonObject | null | undefined;
    if (model?.type === "WordLevel" && typeof model.unk_token === "string") plainConfig.unk_token = model.unk_token;
    const side = config.padding_side ?? "right";
    if (side !== "right" && side !== "left") throw new Error(`tokenizer/tokenizer_config.json: expected padding_side to be "right" or "left", got ${describe(side)}`);
    this.paddingSide = side;
    const { raw, rest } = RawAddedTokens.from(tokenizerJson);
    this.raw = raw;
    try {
      this.tokenizer = withRustWhiteSpace(new Tokenizer(perCodePointLowercase(rest), plainConfig));
    } catch (e) {
      throw new Error(`tokenizer/tokenizer.json: expected a tokenizer @huggingface/tokenizers can read, got an error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    const padToken = padTokenText(tokenizerJson, config);
    if (padToken === null) {
      throw new Error(`tokenizer/tokenizer_config.json: expected a pad_token (or, without that key, padding.pad_token in tokenizer.json), got ${describe(config.pad_token)}`);
    }
    const padId = this.tokenId(padToken);
    if (padId === undefined) throw new Error(`tokenizer/tokenizer_config.json: expected a pad_token in the vocabulary, got ${describe(padToken)}`);
    this.padId = padId;
  }

  /**
   * The ids of one prompt, unpadded, special tokens included (`tokenizer(prompt).input_ids`), e.g. to
   * see how a prompt is split.
   *
   * @throws Error naming `prompt` when a piece is outside the vocabulary and the tokenizer has no unknown token.
   */
  ids(prompt: string): number[] {
    return this.encodeOne(prompt).ids;
  }

  /**
   * The ids the text encoder gets for P prompts, each row padded with {@link padId} or cut to L.
   *
   * @param prompts - P strings.
   * @param options - truncation (the unconditional prompt) and a warning handler.
   * @returns ids, int64, shape [P, L], row-major.
   * @throws Error naming `prompt` when a piece is outside the vocabulary and the tokenizer has no unknown token.
   */
  encode(prompts: readonly string[], options: PromptEncodeOptions = {}): BigInt64Array {
    const L = this.length;
    const out = new BigInt64Array(prompts.length * L).fill(BigInt(this.padId));
    prompts.forEach((prompt, p) => {
      const encoded = this.encodeOne(prompt);
      this.warnUnknown(prompt, encoded, options.onWarning);
      let ids = encoded.ids;
      if (ids.length > L) {
        if (options.truncation) ids = this.truncated(prompt, ids);
        else this.warnCut(prompt, encoded, options.onWarning);
      }
      const n = Math.min(L, ids.length);
      const start = p * L + (this.paddingSide === "left" ? L - n : 0);
      for (let i = 0; i < n; i++) out[start + i] = BigInt(ids[i]);
    });
    return out;
  }

  /** A token's id: a raw added token's, else the library's (vocabulary and normalized added tokens). */
  private tokenId(token: string): number | undefined {
    return this.raw.get(token)?.id ?? this.tokenizer.token_to_id(token);
  }

  /**
   * `tokenizer(prompt)`: the text between raw added tokens encoded by the library without special
   * tokens, then the post-processor's special tokens around the whole (their ids looked up by text).
   */
  private encodeOne(prompt: string, addSpecialTokens = true): Encoded {
    const content: Encoded = { ids: [], tokens: [] };
    for (const piece of this.raw.split(prompt)) {
      const part: Encoded = "token" in piece ? { ids: [piece.token.id], tokens: [piece.token.content] } : this.tokenizer.encode(piece.text, { add_special_tokens: false });
      content.ids.push(...part.ids);
      content.tokens.push(...part.tokens);
    }
    // The library's post-processor (a callable object): (tokens, pair, addSpecialTokens) → { tokens }.
    const processor = this.tokenizer.post_processor as ((tokens: string[], pair: null, add: boolean) => { tokens: string[] }) | null;
    const tokens = processor === null ? content.tokens : processor(content.tokens, null, addSpecialTokens).tokens;
    const start = this.contentStart(content.tokens, tokens);
    const ids = tokens.map((token: string, i: number): number => (i >= start && i < start + content.ids.length ? content.ids[i - start] : (this.tokenId(token) ?? Number.NaN)));
    const missing = ids.findIndex((id) => !Number.isInteger(id));
    if (missing >= 0) {
      throw argumentErrorText("prompt", "words the tokenizer knows (it has no unknown token)", `${describe(tokens[missing])} in ${describe(prompt)}`);
    }
    return { ids, tokens };
  }

  /** transformers' truncation of a single sequence: the content cut to L − s ids, then the s special tokens. */
  private truncated(prompt: string, ids: number[]): number[] {
    const content = this.encodeOne(prompt, false).ids;
    const keep = this.length - (ids.length - content.length);
    // The post-processor put `start` special tokens before the content, the rest after it.
    const start = this.contentStart(content, ids);
    if (keep < 0 || start + content.length > ids.length) {
      throw argumentErrorText("prompt", `a prompt whose special tokens fit in L = ${this.length}`, `${ids.length - content.length} special tokens`);
    }
    return [...ids.slice(0, start), ...content.slice(0, keep), ...ids.slice(start + content.length)];
  }

  /** Where `content` sits in `all` (the post-processor adds tokens only around it); all.length when nowhere. */
  private contentStart<T>(content: readonly T[], all: readonly T[]): number {
    let start = 0;
    while (start + content.length <= all.length && !content.every((v, i) => all[start + i] === v)) start++;
    return start + content.length <= all.length ? start : all.length;
  }

  private warnUnknown(prompt: string, { ids, tokens }: Encoded, onWarning: WarningHandler | undefined): void {
    if (onWarning === undefined) return;
    // A piece the vocabulary lacks keeps its text in `tokens` and gets the unknown token's id.
    const unknown = tokens.filter((token) => this.tokenId(token) === undefined);
    if (unknown.length === 0) return;
    const unk = this.tokenizer.id_to_token(ids[tokens.indexOf(unknown[0])]);
    const words = [...new Set(unknown)];
    onWarning(
      `prompt ${describe(prompt)}: the tokenizer does not know ${words.length === 1 ? "the word" : "the words"} ${words.map((w) => JSON.stringify(w)).join(", ")} ` +
        `(read as the unknown token ${JSON.stringify(unk)})`,
    );
  }

  private warnCut(prompt: string, { ids, tokens }: Encoded, onWarning: WarningHandler | undefined): void {
    if (onWarning === undefined) return;
    const L = this.length;
    // diffusers logs tokenizer.batch_decode(ids[:, L:]); a tokenizer without a decoder shows the pieces.
    // A byte-level cut can fall inside a character (its first bytes kept): the text then starts at that
    // character, whole, instead of with U+FFFD (at most 3 more tokens: a character is at most 4 bytes).
    let start = L;
    const decoded = (from: number) => (this.tokenizer.decoder === null ? tokens.slice(from).join(" ") : this.tokenizer.decode(ids.slice(from)));
    let cut = decoded(start);
    while (cut.startsWith("\uFFFD") && start > L - 3 && start > 1) cut = decoded(--start);
    const split = start < L ? ` (the cut falls inside ${JSON.stringify(Array.from(cut)[0])})` : "";
    // Both texts shortened (the prompt to 60 UTF-16 units, the cut text to 100), so that a long prompt is not echoed in full.
    onWarning(
      `prompt ${describe(prompt)} is ${ids.length} tokens, more than the text encoder's ${L}: only the first ${L} are used, ` +
        `as in diffusers. Cut: ${JSON.stringify(shortText(cut, 100))}${split}`,
    );
  }

}
