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
 * lower-casing is per code point, as the Rust tokenizers library does (see perCodePointLowercase.ts).
 *
 * One difference from diffusers, kept on purpose: diffusers raises `ValueError` ("Unable to create
 * tensor …") for a list that mixes a prompt over L ids with shorter ones, because its rows come out
 * ragged before the cut. Here each prompt is cut as it would be alone, and the list is encoded.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { argumentErrorText, describe } from "../errors.js";
import type { JsonObject } from "./modelFolder.js";
import { perCodePointLowercase } from "./perCodePointLowercase.js";
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
  /** The id that pads a prompt to L tokens: tokenizer_config.json's `pad_token`'s id. */
  readonly padId: number;

  /**
   * @param tokenizerJson - tokenizer.json (not modified).
   * @param config - tokenizer_config.json (not modified). Special tokens may be strings or AddedToken
   *   objects (`{"__type": "AddedToken", "content": …}`).
   * @param length - L.
   * @throws Error naming the file: a tokenizer @huggingface/tokenizers cannot read, a special token of
   *   another form, no pad token, or a pad token outside the vocabulary.
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
    try {
      this.tokenizer = new Tokenizer(perCodePointLowercase(tokenizerJson), plainConfig);
    } catch (e) {
      throw new Error(`tokenizer/tokenizer.json: expected a tokenizer @huggingface/tokenizers can read, got an error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    const padToken = padTokenText(tokenizerJson, config);
    if (padToken === null) {
      throw new Error(`tokenizer/tokenizer_config.json: expected a pad_token (or, without that key, padding.pad_token in tokenizer.json), got ${describe(config.pad_token)}`);
    }
    const padId = this.tokenizer.token_to_id(padToken);
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
      for (let i = 0; i < Math.min(L, ids.length); i++) out[p * L + i] = BigInt(ids[i]);
    });
    return out;
  }

  private encodeOne(prompt: string): Encoded {
    const { ids, tokens }: Encoded = this.tokenizer.encode(prompt);
    const missing = ids.findIndex((id) => !Number.isInteger(id));
    if (missing >= 0) {
      throw argumentErrorText("prompt", "words the tokenizer knows (it has no unknown token)", `${describe(tokens[missing])} in ${describe(prompt)}`);
    }
    return { ids, tokens };
  }

  /** transformers' truncation of a single sequence: the content cut to L − s ids, then the s special tokens. */
  private truncated(prompt: string, ids: number[]): number[] {
    const content: number[] = this.tokenizer.encode(prompt, { add_special_tokens: false }).ids;
    const keep = this.length - (ids.length - content.length);
    // The post-processor put `start` special tokens before the content, the rest after it.
    let start = 0;
    while (start + content.length <= ids.length && !content.every((id, i) => ids[start + i] === id)) start++;
    if (keep < 0 || start + content.length > ids.length) {
      throw argumentErrorText("prompt", `a prompt whose special tokens fit in L = ${this.length}`, `${ids.length - content.length} special tokens`);
    }
    return [...ids.slice(0, start), ...content.slice(0, keep), ...ids.slice(start + content.length)];
  }

  private warnUnknown(prompt: string, { ids, tokens }: Encoded, onWarning: WarningHandler | undefined): void {
    if (onWarning === undefined) return;
    // A piece the vocabulary lacks keeps its text in `tokens` and gets the unknown token's id.
    const unknown = tokens.filter((token) => this.tokenizer.token_to_id(token) === undefined);
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
    const cut = this.tokenizer.decoder === null ? tokens.slice(L).join(" ") : this.tokenizer.decode(ids.slice(L));
    onWarning(
      `prompt ${describe(prompt)} is ${ids.length} tokens, more than the text encoder's ${L}: only the first ${L} are used, ` +
        `as in diffusers. Cut: ${JSON.stringify(cut)}`,
    );
  }
}
