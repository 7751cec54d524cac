/**
 * The tokenizer files the tokenizer tests read: the real-golden CLIP tokenizer (transformers' own
 * conversion), the old word-level tokenizer, and the bundled Fashion-MNIST model's CLIP tokenizer with
 * the ids transformers gives on its checkpoint.
 */
import { readFileSync } from "node:fs";

export type Json = Record<string, unknown>;

/** A JSON file of the test folder (a path relative to test/). */
export const readTestJson = (path: string) => JSON.parse(readFileSync(new URL(`../${path}`, import.meta.url), "utf8")) as Json;

export const CLIP_JSON = readTestJson("fixtures/real-golden-tokenizer/tokenizer.json");
export const CLIP_CONFIG = readTestJson("fixtures/real-golden-tokenizer/tokenizer_config.json");
export const WORD_JSON = readTestJson("fixtures/word-level-tokenizer/tokenizer.json");
export const WORD_CONFIG = readTestJson("fixtures/word-level-tokenizer/tokenizer_config.json");
export const FASHION_JSON = readTestJson("../models/fashion-mnist/tokenizer/tokenizer.json");
export const FASHION_CONFIG = readTestJson("../models/fashion-mnist/tokenizer/tokenizer_config.json");

/** One prompt through diffusers' `_encode_prompt` tokenization: ids padded to L, not truncated. */
export type RecordedPrompt = {
  prompt: string;
  /** The ids before the cut to L, start and end included. */
  tokens: number;
  /** The first L ids: what the text encoder sees. */
  input_ids: number[];
  /** Over L: the cut ids as transformers' `batch_decode` gives them (diffusers' warning); else null. */
  removed_text: string | null;
};

/** transformers' CLIPTokenizer on the bundled model's checkpoint, recorded by tools/train/record_diffusers.py. */
export const FASHION_RECORDED = readTestJson("fixtures/fashion-mnist-diffusers.json").tokenizer as unknown as {
  model_max_length: number;
  bos_token_id: number;
  eos_token_id: number;
  pad_token_id: number;
  prompts: RecordedPrompt[];
};
