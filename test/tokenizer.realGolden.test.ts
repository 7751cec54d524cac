/**
 * CLIP prompts as diffusers' `VQDiffusionPipeline` tokenizes them, on the real-golden checkpoint's
 * tokenizer (test/fixtures/real-golden/D, converted to tokenizer.json by transformers' own fast
 * conversion: tools/fixtures/make_real_golden_tokenizer.py → test/fixtures/real-golden-tokenizer):
 * - every case's `input_ids` and `negative_input_ids`, and the 20 `tokenizer_probes`, id for id;
 * - a prompt over L tokens cut to its first L ids (the end token dropped), with a warning naming what
 *   was cut; the unconditional "" encoded with truncation;
 * - lower-casing per code point (Σ → σ everywhere, never the final-sigma ς).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PromptTokenizer } from "../src/pipeline/promptTokenizer.js";

const read = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as Record<string, unknown>;
const TOKENIZER_JSON = read("./fixtures/real-golden-tokenizer/tokenizer.json");
const TOKENIZER_CONFIG = read("./fixtures/real-golden-tokenizer/tokenizer_config.json");
const CASES = read("./fixtures/real-golden/D/cases.json") as unknown as {
  sizes: { L: number; pad_id: number; bos_id: number; eos_id: number };
  cases: { name: string; prompt: string | string[]; input_ids: number[][]; negative_input_ids?: number[][]; unpadded_token_count: number[] }[];
  tokenizer_probes: { prompt: string; input_ids: number[]; unpadded_ids: number[] }[];
};
const L = CASES.sizes.L;

/** The tokenizer as the pipeline builds it, collecting its warnings. */
function tokenizer(json = TOKENIZER_JSON, config = TOKENIZER_CONFIG): PromptTokenizer {
  return new PromptTokenizer(json, config, L);
}
function encode(t: PromptTokenizer, prompts: string[], truncation = false): { ids: number[][]; warnings: string[] } {
  const warnings: string[] = [];
  const flat = Array.from(t.encode(prompts, { truncation, onWarning: (m) => warnings.push(m) }), Number);
  return { ids: prompts.map((_, p) => flat.slice(p * L, (p + 1) * L)), warnings };
}

describe("the real-golden CLIP tokenizer against diffusers' recorded ids", () => {
  const t = tokenizer();

  it("pads with tokenizer_config.json's pad_token (<|endoftext|>, id 713)", () => {
    expect(t.padId).toBe(CASES.sizes.pad_id);
    expect(t.length).toBe(L);
  });

  it("gives every case's input_ids and negative_input_ids", () => {
    let rows = 0;
    for (const c of CASES.cases) {
      const prompts = typeof c.prompt === "string" ? [c.prompt] : c.prompt;
      expect(encode(t, prompts).ids, c.name).toEqual(c.input_ids);
      expect(prompts.map((p) => t.ids(p).length), c.name).toEqual(c.unpadded_token_count);
      rows += prompts.length;
      if (c.negative_input_ids) {
        expect(encode(t, prompts.map(() => ""), true).ids, `${c.name} negative`).toEqual(c.negative_input_ids);
        rows += prompts.length;
      }
    }
    expect(rows).toBe(21);
  });

  it("gives all 20 tokenizer probes' ids, unpadded and as _encode_prompt passes them", () => {
    expect(CASES.tokenizer_probes.length).toBe(20);
    const wrong = CASES.tokenizer_probes.filter((probe) => {
      const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
      return !same(t.ids(probe.prompt), probe.unpadded_ids) || !same(encode(t, [probe.prompt]).ids[0], probe.input_ids);
    });
    expect(wrong.map((probe) => probe.prompt)).toEqual([]);
  });

  it("gives tokenizer_versions.json's 31 reference rows (every case prompt and probe, as _encode_prompt passes them)", () => {
    const versions = read("./fixtures/real-golden/D/tokenizer_versions.json") as unknown as { strings: { prompt: string; reference: number[] }[] };
    expect(versions.strings.length).toBe(31);
    const wrong = versions.strings.filter((s) => encode(t, [s.prompt]).ids[0].some((id, i) => id !== s.reference[i]));
    expect(wrong.map((s) => s.prompt)).toEqual([]);
  });

  it("lower-cases per code point: Σ gives σ at the end of a word too (not the final-sigma ς)", () => {
    const sigma = t.ids("σ");
    expect(t.ids("Σ")).toEqual(sigma);
    expect(t.ids("ΟΔΟΣ")).toEqual(t.ids("οδοσ"));
    expect(t.ids("ΟΔΟΣ")).not.toEqual(t.ids("οδος"));
    // İ lower-cases to i + U+0307 (as Rust's char::to_lowercase and JavaScript agree).
    expect(t.ids("İ")).toEqual(t.ids("i\u0307"));
  });

  it("a prompt over L tokens keeps its first L ids, end token dropped, and warns with the cut text (d05)", () => {
    const d05 = CASES.cases.find((c) => c.name === "d05_long_prompt")!;
    const { ids, warnings } = encode(t, [d05.prompt as string]);
    expect(ids).toEqual(d05.input_ids);
    expect(ids[0]).not.toContain(CASES.sizes.eos_id);
    expect(warnings).toEqual([
      'prompt "an oil painting of flowers in a vase next to a window whi..." is 34 tokens, ' +
        "more than the text encoder's 12: only the first 12 are used, as in diffusers. " +
        // The cut text is transformers' tokenizer.batch_decode(ids[:, 12:]) for this prompt (checked).
        'Cut: "se next to a window while the morning sun shines <|endoftext|>"',
    ]);
  });

  it("a prompt of exactly L tokens keeps its end token and gives no warning (d06's second prompt)", () => {
    const { ids, warnings } = encode(t, ["Cafe\u0301 🐱!"]);
    expect(ids[0].at(-1)).toBe(CASES.sizes.eos_id);
    expect(warnings).toEqual([]);
  });

  it("with truncation (the unconditional prompt's encoding), a long prompt keeps its end token last, silently", () => {
    const long = "an oil painting of flowers in a vase next to a window while the morning sun shines";
    const { ids, warnings } = encode(t, [long], true);
    const unpadded = t.ids(long);
    expect(ids[0]).toEqual([...unpadded.slice(0, L - 1), CASES.sizes.eos_id]);
    expect(warnings).toEqual([]);
  });

  it("a list mixing a prompt over L with shorter ones: each row is cut as it would be alone (diffusers raises e01)", () => {
    const long = "an oil painting of flowers in a vase next to a window while the morning sun shines";
    const { ids, warnings } = encode(t, ["a cat", long]);
    expect(ids).toEqual([encode(t, ["a cat"]).ids[0], encode(t, [long]).ids[0]]);
    expect(warnings.length).toBe(1);
  });

  it("the byte-level CLIP vocabulary knows every piece: no unknown-word warning, even for the unk token's own text", () => {
    const { warnings } = encode(t, ["漢字 <|endoftext|> \u0000 🇫🇷"]);
    expect(warnings.filter((w) => w.includes("unknown"))).toEqual([]);
  });

  it("does not change the objects it was given", () => {
    const json = structuredClone(TOKENIZER_JSON);
    const config = structuredClone(TOKENIZER_CONFIG);
    tokenizer(json, config).encode(["ΟΔΟΣ"]);
    expect(json).toEqual(TOKENIZER_JSON);
    expect(config).toEqual(TOKENIZER_CONFIG);
  });
});
