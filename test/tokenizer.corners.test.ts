/**
 * Tokenizer corners where @huggingface/tokenizers 0.2.0 alone gives other ids than transformers (issue 31,
 * items 6-8). Every expected id comes from transformers 5.17 / tokenizers 0.23.2, recorded once by
 * tools/fixtures/record_tokenizer_corners.py → test/fixtures/tokenizer-corners.json:
 * - whitespace: every code point that JavaScript's `\s` and Unicode's White_Space (Rust's `\s` and
 *   `char::is_whitespace`) disagree on, computed here from the two definitions, in nine contexts, through
 *   the CLIP tokenizer (ByteLevel) and the word-level tokenizer (WhitespaceSplit);
 * - added tokens marked `"normalized": false` match the raw text only: "<|ENDOFTEXT|>" stays text;
 * - `padding_side: "left"` pads on the left, as transformers does; any other value but "right" is refused.
 */
import { describe, expect, it } from "vitest";
import { PromptTokenizer } from "../src/pipeline/promptTokenizer.js";
import { CLIP_CONFIG, CLIP_JSON, FASHION_CONFIG, FASHION_JSON, readTestJson, WORD_CONFIG, WORD_JSON, type Json } from "./helpers/tokenizerFiles.js";

const CORNERS = readTestJson("fixtures/tokenizer-corners.json") as unknown as {
  L: number;
  disagreeing_code_points: number[];
  whitespace: { code_point: number; prompt: string; clip: number[]; word_level: number[] }[];
  raw_added_tokens: { prompt: string; ids: number[] }[];
  stripped_tokens: { added_tokens: Json[]; rows: { prompt: string; ids: number[] }[] };
  other_splitters: Record<string, { tokenizer: Json; rows: { prompt: string; ids: number[] }[] }>;
  left_padding: { prompt: string; input_ids: number[]; truncated_ids: number[] }[];
};
const L = CORNERS.L;

/** The code points JavaScript's `\s` and Unicode's White_Space disagree on, from the two definitions. */
function disagreeing(): number[] {
  const out: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    if (/\s/.test(c) !== /\p{White_Space}/u.test(c)) out.push(cp);
  }
  return out;
}

function rows(t: PromptTokenizer, prompts: string[], truncation = false): number[][] {
  const flat = Array.from(t.encode(prompts, { truncation, onWarning: () => {} }), Number);
  return prompts.map((_, p) => flat.slice(p * t.length, (p + 1) * t.length));
}

describe("white space as Rust's tokenizers reads it (White_Space, not JavaScript's \\s)", () => {
  it("the recorded code points are every one the two definitions disagree on", () => {
    expect(disagreeing()).toEqual(CORNERS.disagreeing_code_points);
    expect(CORNERS.disagreeing_code_points).toContain(0xfeff);
  });

  it("the CLIP tokenizer (ByteLevel pre-tokenizer) gives transformers' ids for each of them, in every context", () => {
    const t = new PromptTokenizer(CLIP_JSON, CLIP_CONFIG, L);
    const wrong = CORNERS.whitespace.filter((row) => JSON.stringify(t.ids(row.prompt)) !== JSON.stringify(row.clip));
    expect(wrong.map((row) => row.prompt)).toEqual([]);
    expect(CORNERS.whitespace.length).toBe(CORNERS.disagreeing_code_points.length * 9);
  });

  it("the word-level tokenizer (WhitespaceSplit) gives tokenizers' ids for each of them, in every context", () => {
    const t = new PromptTokenizer(WORD_JSON, WORD_CONFIG, 8);
    const wrong = CORNERS.whitespace.filter((row) => JSON.stringify(t.ids(row.prompt)) !== JSON.stringify(row.word_level));
    expect(wrong.map((row) => row.prompt)).toEqual([]);
  });
});

describe("the other parts that read white space, against tokenizers (Rust)", () => {
  it.each(["whitespace", "bert", "strip", "bert_normalizer"])("%s: the same ids for every disagreeing code point and for words beyond ASCII", (name) => {
    const { tokenizer, rows } = CORNERS.other_splitters[name];
    const t = new PromptTokenizer(tokenizer, { unk_token: "[UNK]", pad_token: "[UNK]" }, 8);
    const wrong = rows.filter((row) => JSON.stringify(t.ids(row.prompt)) !== JSON.stringify(row.ids));
    expect(wrong.map((row) => [row.prompt, t.ids(row.prompt), row.ids])).toEqual([]);
    expect(rows.length).toBe(CORNERS.disagreeing_code_points.length * 9 + 3);
  });
});

describe('added tokens marked "normalized": false match the raw text only', () => {
  const json = { ...CLIP_JSON, added_tokens: (CLIP_JSON.added_tokens as Json[]).map((token) => ({ ...token, normalized: false })) };
  const t = new PromptTokenizer(json, CLIP_CONFIG, L);

  it("a special token typed in another case stays ordinary text; typed exactly, it is the token", () => {
    for (const row of CORNERS.raw_added_tokens) expect(t.ids(row.prompt), row.prompt).toEqual(row.ids);
    expect(CORNERS.raw_added_tokens.map((row) => row.prompt)).toContain("<|ENDOFTEXT|>");
  });

  it("single_word, lstrip and rstrip as tokenizers (Rust) applies them, White_Space stripped", () => {
    const withMore = { ...json, added_tokens: [...json.added_tokens, ...CORNERS.stripped_tokens.added_tokens] };
    const more = new PromptTokenizer(withMore, CLIP_CONFIG, L);
    const wrong = CORNERS.stripped_tokens.rows.filter((row) => JSON.stringify(more.ids(row.prompt)) !== JSON.stringify(row.ids));
    expect(wrong.map((row) => [row.prompt, more.ids(row.prompt)])).toEqual([]);
    expect(CORNERS.stripped_tokens.rows.length).toBe(11);
  });

  it("the same tokens marked normalized: true match after lower-casing (transformers' own CLIP files)", () => {
    expect(new PromptTokenizer(CLIP_JSON, CLIP_CONFIG, L).ids("<|ENDOFTEXT|>")).toEqual([712, 713, 713]);
  });
});

describe("padding_side in tokenizer_config.json", () => {
  it('"left" pads on the left, as transformers does (prompt rows and the truncated unconditional rows)', () => {
    const t = new PromptTokenizer(CLIP_JSON, { ...CLIP_CONFIG, padding_side: "left" }, L);
    for (const row of CORNERS.left_padding) {
      expect(rows(t, [row.prompt])[0], row.prompt).toEqual(row.input_ids);
      expect(rows(t, [row.prompt], true)[0], row.prompt).toEqual(row.truncated_ids);
    }
  });

  it('"right" (and no key) pads on the right', () => {
    const right = rows(new PromptTokenizer(CLIP_JSON, { ...CLIP_CONFIG, padding_side: "right" }, L), ["a red bag"])[0];
    expect(right).toEqual([712, 320, 592, 640, 326, 713, 713, 713, 713, 713, 713, 713]);
    expect(rows(new PromptTokenizer(CLIP_JSON, CLIP_CONFIG, L), ["a red bag"])[0]).toEqual(right);
  });

  it("any other value is refused at load, naming the file and the key", () => {
    expect(() => new PromptTokenizer(CLIP_JSON, { ...CLIP_CONFIG, padding_side: "center" }, L)).toThrow(
      'tokenizer/tokenizer_config.json: expected padding_side to be "right" or "left", got "center"',
    );
  });
});

describe("the warning of a prompt cut to L tokens", () => {
  const t = new PromptTokenizer(FASHION_JSON, FASHION_CONFIG, 8);
  const warn = (prompt: string) => {
    const warnings: string[] = [];
    t.encode([prompt], { onWarning: (m) => warnings.push(m) });
    return warnings;
  };

  it("never shows a broken character where the cut falls inside one (every cut position, 2- to 4-byte characters)", () => {
    for (const char of ["à", "靴", "👢"]) {
      for (let words = 0; words < 8; words++) {
        const prompt = `${"bag ".repeat(words)}${char}${char} talon sandale`;
        const [warning] = warn(prompt);
        expect(warning, prompt).toBeDefined();
        expect(warning, prompt).not.toContain("\uFFFD");
      }
    }
    expect(warn("bag bag bag bag bag bag à talon")).toEqual([
      `prompt "bag bag bag bag bag bag à talon" is 15 tokens, more than the text encoder's 8: only the first 8 are used, as in diffusers. Cut: "à talon <|endoftext|>" (the cut falls inside "à")`,
    ]);
  });

  it("a 300-character prompt is not echoed in full: the prompt shown in 60 characters, the cut text in 100", () => {
    const prompt = "sneaker bag coat dress shirt à ".repeat(10);
    expect(prompt.length).toBe(310);
    const [warning] = warn(prompt);
    expect(warning.length).toBeLessThan(300);
    expect(warning).toBe(
      `prompt "sneaker bag coat dress shirt à sneaker bag coat dress shi..." is 72 tokens, more than the text encoder's 8: only the first 8 are used, as in diffusers. ` +
        `Cut: "${"sneaker bag coat dress shirt à ".repeat(4).slice(0, 97)}..."`,
    );
  });
});
