/**
 * Tokenizer files as transformers reads them: special tokens stored as AddedToken objects, the pad
 * token taken from tokenizer_config.json's `pad_token` when tokenizer.json's `padding` disagrees, and
 * the per-code-point lower-casing rewrite of the normalizer config. Then a word-level tokenizer with an
 * unknown token (the old Fashion-MNIST model's, test/fixtures/word-level-tokenizer): unknown words and
 * prompts over L tokens are reported by name. And the bundled Fashion-MNIST model's CLIP tokenizer
 * (byte-level pieces, so no unknown word; pad = <|endoftext|>): its ids and cut texts are
 * transformers' CLIPTokenizer's on the checkpoint, recorded by tools/train/record_diffusers.py.
 */
import { describe, expect, it } from "vitest";
import { perCodePointLowercase } from "../src/pipeline/perCodePointLowercase.js";
import { PromptTokenizer } from "../src/pipeline/promptTokenizer.js";
import { padTokenText, plainSpecialTokens, specialTokenText } from "../src/pipeline/specialTokens.js";

import { CLIP_CONFIG, CLIP_JSON, FASHION_CONFIG, FASHION_JSON, FASHION_RECORDED, WORD_CONFIG, WORD_JSON, type Json } from "./helpers/tokenizerFiles.js";
const added = (content: string) => ({ __type: "AddedToken", content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true });

function error(make: () => unknown): string {
  try {
    make();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

/** ids [P, L] and the warnings of one encode call. */
function encode(t: PromptTokenizer, prompts: string[]): { ids: number[][]; warnings: string[] } {
  const warnings: string[] = [];
  const flat = Array.from(t.encode(prompts, { onWarning: (m) => warnings.push(m) }), Number);
  return { ids: prompts.map((_, p) => flat.slice(p * t.length, (p + 1) * t.length)), warnings };
}

describe("the pad token (transformers' rule)", () => {
  it("tokenizer_config.json's pad_token wins over tokenizer.json's padding when they disagree", () => {
    // padding says "!" (id 0, ITHQ's pad); the config says <|endoftext|> (713): transformers pads with 713.
    const json = { ...CLIP_JSON, padding: { strategy: { Fixed: 12 }, direction: "Right", pad_to_multiple_of: null, pad_id: 0, pad_type_id: 0, pad_token: "!" } };
    const t = new PromptTokenizer(json, CLIP_CONFIG, 12);
    expect(t.padId).toBe(713);
    expect(encode(t, ["a"]).ids[0].slice(-3)).toEqual([713, 713, 713]);
    // …and the other way round: the config's "!" pads with 0 whatever padding says.
    expect(new PromptTokenizer({ ...json, padding: { ...json.padding, pad_id: 713, pad_token: "<|endoftext|>" } }, { ...CLIP_CONFIG, pad_token: "!" }, 12).padId).toBe(0);
  });

  it("without a pad_token key, tokenizer.json's padding.pad_token stands in (its token's id, not pad_id)", () => {
    const { pad_token: _, ...config } = CLIP_CONFIG;
    const json = { ...CLIP_JSON, padding: { strategy: "BatchLongest", direction: "Right", pad_to_multiple_of: null, pad_id: 5, pad_type_id: 0, pad_token: "!" } };
    expect(padTokenText(json, config)).toBe("!");
    expect(new PromptTokenizer(json, config, 12).padId).toBe(0);
  });

  it("no pad token, an explicit null, or one outside the vocabulary is an error naming the file", () => {
    const { pad_token: _, ...config } = CLIP_CONFIG;
    expect(error(() => new PromptTokenizer(CLIP_JSON, config, 12))).toBe(
      "tokenizer/tokenizer_config.json: expected a pad_token (or, without that key, padding.pad_token in tokenizer.json), got undefined",
    );
    expect(error(() => new PromptTokenizer(CLIP_JSON, { ...CLIP_CONFIG, pad_token: null }, 12))).toBe(
      "tokenizer/tokenizer_config.json: expected a pad_token (or, without that key, padding.pad_token in tokenizer.json), got null",
    );
    expect(error(() => new PromptTokenizer(CLIP_JSON, { ...CLIP_CONFIG, pad_token: "[PAD]" }, 12))).toBe('tokenizer/tokenizer_config.json: expected a pad_token in the vocabulary, got "[PAD]"');
  });
});

describe("special tokens as AddedToken objects", () => {
  it("read as their content, as transformers' convert_added_tokens does", () => {
    expect(specialTokenText(added("[PAD]"), "pad_token")).toBe("[PAD]");
    expect(specialTokenText("[PAD]", "pad_token")).toBe("[PAD]");
    expect(specialTokenText(null, "pad_token")).toBe(null);
    const config = { pad_token: added("[PAD]"), unk_token: added("[UNK]"), bos_token: null, additional_special_tokens: [added("<a>"), "<b>"], model_max_length: 8 };
    const before = structuredClone(config);
    expect(plainSpecialTokens(config)).toEqual({ pad_token: "[PAD]", unk_token: "[UNK]", additional_special_tokens: ["<a>", "<b>"], model_max_length: 8 });
    expect(config).toEqual(before);
  });

  it("the word-level tokenizer with AddedToken pad and unk tokens gives the same ids as with strings", () => {
    const plain = new PromptTokenizer(WORD_JSON, WORD_CONFIG, 8);
    const objects = new PromptTokenizer(WORD_JSON, { ...WORD_CONFIG, pad_token: added("[PAD]"), unk_token: added("[UNK]") }, 8);
    expect(objects.padId).toBe(0);
    for (const prompt of ["red car", "ankle boot", "a red SNEAKER"]) expect(encode(objects, [prompt]).ids).toEqual(encode(plain, [prompt]).ids);
    expect(encode(objects, ["red car"]).ids[0]).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it("the CLIP tokenizer with AddedToken special tokens gives the recorded ids", () => {
    const config = { ...CLIP_CONFIG, pad_token: added("<|endoftext|>"), bos_token: added("<|startoftext|>"), eos_token: added("<|endoftext|>"), unk_token: added("<|endoftext|>") };
    const t = new PromptTokenizer(CLIP_JSON, config, 12);
    expect(encode(t, ["a teddy bear playing in the pool"]).ids[0]).toEqual([712, 320, 632, 661, 609, 549, 519, 514, 708, 713, 713, 713]);
  });

  it("any other form is refused, naming the file and the key (transformers raises TypeError)", () => {
    expect(error(() => new PromptTokenizer(WORD_JSON, { ...WORD_CONFIG, pad_token: { content: "[PAD]" } }, 8))).toBe(
      'tokenizer/tokenizer_config.json: expected key pad_token to be a string or {"__type": "AddedToken", "content": string, ...}, got an object',
    );
    expect(error(() => new PromptTokenizer(WORD_JSON, { ...WORD_CONFIG, unk_token: 1 }, 8))).toBe(
      'tokenizer/tokenizer_config.json: expected key unk_token to be a string or {"__type": "AddedToken", "content": string, ...}, got 1',
    );
    expect(error(() => new PromptTokenizer(WORD_JSON, { ...WORD_CONFIG, additional_special_tokens: ["<a>", { __type: "AddedToken" }] }, 8))).toBe(
      'tokenizer/tokenizer_config.json: expected key additional_special_tokens[1] to be a string or {"__type": "AddedToken", "content": string, ...}, got an object',
    );
  });
});

describe("per-code-point lower-casing of the normalizer config", () => {
  it("puts Σ → σ before every normalizer that lower-cases, and leaves the input and other normalizers alone", () => {
    const sigma = { type: "Replace", pattern: { String: "Σ" }, content: "σ" };
    const json = { normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Lowercase" }] } };
    const before = structuredClone(json);
    expect(perCodePointLowercase(json).normalizer).toEqual({ type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Sequence", normalizers: [sigma, { type: "Lowercase" }] }] });
    expect(json).toEqual(before);
    const bert = { type: "BertNormalizer", lowercase: true, clean_text: true };
    expect(perCodePointLowercase({ normalizer: bert }).normalizer).toEqual({ type: "Sequence", normalizers: [sigma, bert] });
    expect(perCodePointLowercase({ normalizer: { ...bert, lowercase: false } }).normalizer).toEqual({ ...bert, lowercase: false });
    expect(perCodePointLowercase({ normalizer: null })).toEqual({ normalizer: null });
  });

  it("a Sequence nested past 64 levels is refused", () => {
    let normalizer: Json = { type: "Lowercase" };
    for (let i = 0; i < 70; i++) normalizer = { type: "Sequence", normalizers: [normalizer] };
    expect(error(() => perCodePointLowercase({ normalizer }))).toBe("tokenizer/tokenizer.json: expected normalizer Sequences nested at most 64 deep, got deeper");
  });

  it("a Lowercase-only tokenizer keeps capital sigma words apart from final-sigma spellings", () => {
    const vocab = { "[PAD]": 0, "[UNK]": 1, "οδοσ": 2, "οδος": 3 };
    const json = { model: { type: "WordLevel", vocab, unk_token: "[UNK]" }, normalizer: { type: "Lowercase" }, pre_tokenizer: { type: "WhitespaceSplit" }, added_tokens: [], decoder: null, post_processor: null };
    const t = new PromptTokenizer(json, { pad_token: "[PAD]" }, 2);
    expect(t.ids("ΟΔΟΣ")).toEqual([2]);
    expect(t.ids("ΟΔΟς")).toEqual([3]);
  });
});

describe("warnings of a word-level tokenizer with [UNK] (L = 8)", () => {
  const t = new PromptTokenizer(WORD_JSON, WORD_CONFIG, 8);

  it('"red car" names both unknown words; known words give no warning', () => {
    expect(encode(t, ["red car"])).toEqual({
      ids: [[1, 1, 0, 0, 0, 0, 0, 0]],
      warnings: ['prompt "red car": the tokenizer does not know the words "red", "car" (read as the unknown token "[UNK]")'],
    });
    expect(encode(t, ["Red BAG red"]).warnings).toEqual(['prompt "Red BAG red": the tokenizer does not know the word "red" (read as the unknown token "[UNK]")']);
    expect(encode(t, ["ankle boot", "bag"]).warnings).toEqual([]);
    // The unknown token typed as text is the token itself, not an unknown word.
    expect(encode(t, ["[UNK] bag"]).warnings).toEqual([]);
  });

  it("a word-level tokenizer without an unknown token refuses a word it does not know, naming it", () => {
    const model = { ...(WORD_JSON.model as Json), unk_token: null };
    const { unk_token: _, ...config } = WORD_CONFIG;
    const bare = new PromptTokenizer({ ...WORD_JSON, model }, config, 8);
    expect(bare.ids("bag coat")).toEqual([10, 6]);
    expect(error(() => bare.encode(["bag red"]))).toBe('prompt: expected words the tokenizer knows (it has no unknown token), got "red" in "bag red"');
  });

  it("a 500-character prompt is cut to its first 8 words, with a warning naming the cut words", () => {
    const words = ["sneaker", "bag", "coat", "dress", "shirt"];
    const prompt = Array.from({ length: 50 }, (_, i) => words[i % 5].padEnd(10)).join("");
    expect(prompt.length).toBe(500);
    const { ids, warnings } = encode(t, [prompt]);
    expect(ids[0]).toEqual(t.ids(prompt).slice(0, 8));
    expect(warnings.length).toBe(1);
    const cut = t.ids(prompt).length - 8;
    expect(warnings[0]).toBe(
      `prompt "sneaker   bag       coat      dress     shirt     sneaker..." is 50 tokens, more than the text encoder's 8: only the first 8 are used, as in diffusers. ` +
        // The cut text, shortened to 100 characters (the prompt is not echoed in full).
        `Cut: ${JSON.stringify(Array.from({ length: cut }, (_, i) => words[(i + 8) % 5]).join(" ").slice(0, 97) + "...")}`,
    );
  });

  it("a prompt over L with unknown words gives both warnings; without onWarning nothing is reported and the ids are the same", () => {
    const prompt = "one two three four five six seven eight nine bag";
    const { ids, warnings } = encode(t, [prompt]);
    expect(warnings).toEqual([
      `prompt "${prompt}": the tokenizer does not know the words "one", "two", "three", "four", "five", "six", "seven", "eight", "nine" (read as the unknown token "[UNK]")`,
      `prompt "${prompt}" is 10 tokens, more than the text encoder's 8: only the first 8 are used, as in diffusers. Cut: "nine bag"`,
    ]);
    expect(Array.from(t.encode([prompt]), Number)).toEqual(ids[0]);
  });
});

describe("the bundled Fashion-MNIST model's CLIP tokenizer (byte-level pieces, L = 8)", () => {
  const t = new PromptTokenizer(FASHION_JSON, FASHION_CONFIG, 8);
  const recorded = (prompt: string) => {
    const row = FASHION_RECORDED.prompts.find((r) => r.prompt === prompt);
    if (!row) throw new Error(`no recorded ids for ${JSON.stringify(prompt)}`);
    return row;
  };
  // diffusers' warning, with the cut text as transformers' batch_decode gives it.
  const warningsOf = (prompt: string) => {
    const { tokens, removed_text } = recorded(prompt);
    return removed_text === null ? [] : [`prompt "${prompt}" is ${tokens} tokens, more than the text encoder's 8: only the first 8 are used, as in diffusers. Cut: ${JSON.stringify(removed_text)}`];
  };
  const [start, end] = [FASHION_RECORDED.bos_token_id, FASHION_RECORDED.eos_token_id];

  it("pads with <|endoftext|> after <|startoftext|> … <|endoftext|>, as transformers; AddedToken special tokens give the same ids", () => {
    expect(FASHION_RECORDED.model_max_length).toBe(8);
    expect(FASHION_RECORDED.pad_token_id).toBe(end);
    expect(t.padId).toBe(end);
    expect(t.ids("<|startoftext|>")).toEqual([start, start, end]);
    expect(encode(t, ["ankle boot"])).toEqual({ ids: [recorded("ankle boot").input_ids], warnings: [] });
    const objects = new PromptTokenizer(FASHION_JSON, { ...FASHION_CONFIG, pad_token: added("<|endoftext|>"), bos_token: added("<|startoftext|>"), eos_token: added("<|endoftext|>"), unk_token: added("<|endoftext|>") }, 8);
    expect(objects.padId).toBe(end);
    for (const prompt of ["ankle boot", "a red SNEAKER", "t-shirt"]) expect(encode(objects, [prompt]).ids).toEqual(encode(t, [prompt]).ids);
  });

  it("every recorded prompt gives transformers' ids and diffusers' cut warning", () => {
    for (const { prompt } of FASHION_RECORDED.prompts) expect(encode(t, [prompt]), prompt).toEqual({ ids: [recorded(prompt).input_ids], warnings: warningsOf(prompt) });
  });

  it("a word outside the class names falls apart into byte-level pieces, with no warning; case does not matter", () => {
    const sneaker = recorded("sneaker").input_ids[1];
    expect(recorded("sneaker").input_ids).toEqual([start, sneaker, ...Array(6).fill(end)]);
    // "a red SNEAKER": pieces for "a red", then the class word's one token.
    const red = encode(t, ["a red SNEAKER"]);
    expect(red).toEqual({ ids: [recorded("a red SNEAKER").input_ids], warnings: [] });
    expect(red.ids[0].indexOf(sneaker)).toBeGreaterThan(2);
    expect(encode(t, ["a red sneaker"]).ids).toEqual(red.ids);
    // "Sneakers" is not the class word: pieces, none of them the class token.
    expect(encode(t, ["Sneakers"]).ids[0]).not.toContain(sneaker);
    // "[UNK]" is no token here: its characters are pieces like any others, and "bag" keeps its token.
    expect(encode(t, ["[UNK] bag"]).ids[0]).toContain(recorded("bag").input_ids[1]);
    // Exactly L = 8 ids (start and end included): nothing cut, nothing said.
    expect(recorded("red car").tokens).toBe(8);
    expect(encode(t, ["red car"])).toEqual({ ids: [recorded("red car").input_ids], warnings: [] });
  });

  it("a prompt over 8 tokens keeps its first 8 ids (the end token lost) and the warning gives the cut text as transformers decodes it", () => {
    for (const prompt of ["a red sneaker with laces", "red sneaker, size 42", "one two three"]) {
      expect(recorded(prompt).tokens).toBeGreaterThan(8);
      const { ids, warnings } = encode(t, [prompt]);
      expect(ids[0]).not.toContain(end);
      expect(warnings).toEqual(warningsOf(prompt));
      expect(warnings[0]).toMatch(/ <\|endoftext\|>"$/);
    }
  });
});
