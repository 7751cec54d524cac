/**
 * The tokenizer files the tokenizer tests read: the real-golden CLIP tokenizer (transformers' own
 * conversion), the old word-level tokenizer, and the bundled Fashion-MNIST model's CLIP tokenizer.
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
