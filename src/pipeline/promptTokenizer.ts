/**
 * The prompt tokenizer: `tokenizer/tokenizer.json` (Hugging Face tokenizers format) read by
 * @huggingface/tokenizers, each prompt's ids padded to L = `model_max_length` with the pad token, as
 * diffusers' `tokenizer(prompt, padding="max_length", max_length=L, truncation=True)`.
 *
 * A prompt of more than L tokens keeps its first L (diffusers truncates too, with a warning; for a
 * tokenizer that appends an end token, such as CLIP's, the Python tokenizer keeps that end token in
 * the last place, which this one does not).
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { describe } from "../errors.js";
import type { JsonObject } from "./modelFolder.js";

/** Tokenizes prompts to ids of shape [P, L]. */
export class PromptTokenizer {
  private readonly tokenizer: Tokenizer;
  /** The id that pads a prompt to L tokens. */
  readonly padId: number;

  /**
   * @param tokenizerJson - tokenizer.json.
   * @param config - tokenizer_config.json.
   * @param length - L.
   */
  constructor(tokenizerJson: JsonObject, config: JsonObject, readonly length: number) {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (e) {
      throw new Error(`tokenizer/tokenizer.json: expected a tokenizer @huggingface/tokenizers can read, got an error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    const padding = tokenizerJson.padding as { pad_id?: unknown } | null | undefined;
    const fromConfig = typeof config.pad_token === "string" ? this.tokenizer.token_to_id(config.pad_token) : undefined;
    const padId = typeof padding?.pad_id === "number" ? padding.pad_id : fromConfig;
    if (typeof padId !== "number" || !Number.isInteger(padId) || padId < 0) {
      throw new Error(`tokenizer/tokenizer_config.json: expected a pad_token in the vocabulary (or padding.pad_id in tokenizer.json), got ${describe(config.pad_token)}`);
    }
    this.padId = padId;
  }

  /** The ids of one prompt, unpadded (special tokens included), e.g. to see how a prompt is split. */
  ids(prompt: string): number[] {
    return this.tokenizer.encode(prompt).ids;
  }

  /**
   * @param prompts - P strings.
   * @returns ids, int64, shape [P, L], row-major.
   */
  encode(prompts: readonly string[]): BigInt64Array {
    const L = this.length;
    const out = new BigInt64Array(prompts.length * L).fill(BigInt(this.padId));
    prompts.forEach((prompt, p) => {
      const ids = this.ids(prompt);
      for (let i = 0; i < Math.min(L, ids.length); i++) out[p * L + i] = BigInt(ids[i]);
    });
    return out;
  }
}
