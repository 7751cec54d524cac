/**
 * CLIP's slow tokenizer files converted to tokenizer.json in TypeScript (src/formats/clipTokenizerFiles.ts):
 * - the real-golden D checkpoint's slow files give exactly the tokenizer.json transformers' own conversion
 *   wrote (test/fixtures/real-golden-tokenizer), and diffusers' ids for every recorded case and probe;
 * - the real CLIP vocabulary (49 408 tokens, built from open_clip's bpe_simple_vocab_16e6.txt.gz as CLIP's
 *   SimpleTokenizer builds it) gives transformers' CLIPTokenizer's ids, recorded once, for ~40 prompts, with
 *   openai/clip-vit-base-patch32's config and with microsoft/vq-diffusion-ithq's (pad "!");
 * - bad files are refused, naming the file.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { clipTokenizerJson } from "../src/formats/clipTokenizerFiles.js";
import { PromptTokenizer } from "../src/pipeline/promptTokenizer.js";

const text = (path: string) => readFileSync(new URL(`./fixtures/${path}`, import.meta.url), "utf8");
const json = (path: string) => JSON.parse(text(path)) as Record<string, unknown>;
const D = "real-golden/D/diffusers/tokenizer";

function slowFilesOfD() {
  return { vocab: json(`${D}/vocab.json`), merges: text(`${D}/merges.txt`), tokenizerConfig: json(`${D}/tokenizer_config.json`), specialTokensMap: json(`${D}/special_tokens_map.json`) };
}

describe("clipTokenizerJson on the real-golden D tokenizer (714 tokens, 200 merges)", () => {
  const CASES = json("real-golden/D/cases.json") as unknown as {
    sizes: { L: number; pad_id: number };
    cases: { name: string; prompt: string | string[]; input_ids: number[][]; negative_input_ids?: number[][] }[];
    tokenizer_probes: { prompt: string; input_ids: number[]; unpadded_ids: number[] }[];
  };
  const L = CASES.sizes.L;

  it("gives the tokenizer.json transformers' conversion wrote, key for key", () => {
    const { tokenizer } = clipTokenizerJson(slowFilesOfD());
    expect(tokenizer).toEqual(json("real-golden-tokenizer/tokenizer.json"));
  });

  it("gives diffusers' ids for every case and every probe, padded with tokenizer_config.json's pad token", () => {
    const { tokenizer, config } = clipTokenizerJson(slowFilesOfD());
    const t = new PromptTokenizer(tokenizer, config, L);
    expect(t.padId).toBe(CASES.sizes.pad_id);
    const rows = (prompts: string[], truncation = false) => {
      const flat = Array.from(t.encode(prompts, { truncation }), Number);
      return prompts.map((_, p) => flat.slice(p * L, (p + 1) * L));
    };
    let checked = 0;
    for (const c of CASES.cases) {
      const prompts = typeof c.prompt === "string" ? [c.prompt] : c.prompt;
      expect(rows(prompts), c.name).toEqual(c.input_ids);
      if (c.negative_input_ids) expect(rows(prompts.map(() => ""), true), c.name).toEqual(c.negative_input_ids);
      checked++;
    }
    for (const probe of CASES.tokenizer_probes) {
      expect(t.ids(probe.prompt), probe.prompt).toEqual(probe.unpadded_ids);
      expect(rows([probe.prompt])[0], probe.prompt).toEqual(probe.input_ids);
      checked++;
    }
    expect(checked).toBe(CASES.cases.length + 20);
  });
});

/** CLIP's byte symbols in bytes_to_unicode()'s order: printable bytes as themselves, the rest shifted past 255. */
function byteSymbols(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const bs: number[] = [];
  for (let b = 0; b < 256; b++) if (printable(b)) bs.push(b);
  const symbols = bs.map((b) => String.fromCodePoint(b));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!printable(b)) symbols.push(String.fromCodePoint(256 + n++));
  return symbols;
}

/** vocab.json and merges.txt of openai/clip-vit-base-patch32, built from open_clip's BPE file as CLIP's SimpleTokenizer does. */
function realClipSlowFiles(): { vocab: Record<string, number>; merges: string } {
  const lines = gunzipSync(readFileSync(new URL("./fixtures/clip-bpe/bpe_simple_vocab_16e6.txt.gz", import.meta.url))).toString("utf8").split("\n");
  const merges = lines.slice(1, 49152 - 256 - 2 + 1).map((line) => line.split(" ") as [string, string]);
  const bytes = byteSymbols();
  const tokens = [...bytes, ...bytes.map((b) => `${b}</w>`), ...merges.map(([a, b]) => a + b), "<|startoftext|>", "<|endoftext|>"];
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  return { vocab, merges: `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}\n`).join("")}` };
}

describe("clipTokenizerJson on the real CLIP vocabulary (49 408 tokens) against transformers' CLIPTokenizer", () => {
  const recorded = json("clip-bpe/ids.json") as unknown as {
    L: number;
    vocab_size: number;
    configs: Record<string, { pad_id: number; negative_input_ids: number[]; prompts: { prompt: string; ids: number[]; input_ids: number[] }[] }>;
  };
  const files = realClipSlowFiles();

  it("builds the vocabulary transformers loaded", () => {
    expect(Object.keys(files.vocab).length).toBe(recorded.vocab_size);
    expect(files.vocab["<|endoftext|>"]).toBe(49407);
  });

  for (const name of ["clip-vit-base-patch32", "vq-diffusion-ithq"]) {
    it(`gives the recorded ids of ${recorded.configs[name].prompts.length} prompts with ${name}'s tokenizer config`, () => {
      const r = recorded.configs[name];
      const { tokenizer, config } = clipTokenizerJson({ ...files, tokenizerConfig: json(`clip-bpe/${name}/tokenizer_config.json`), specialTokensMap: json(`clip-bpe/${name}/special_tokens_map.json`) });
      const t = new PromptTokenizer(tokenizer, config, recorded.L);
      expect(t.padId).toBe(r.pad_id);
      const wrong = r.prompts.filter((p) => {
        const ids = t.ids(p.prompt);
        const padded = Array.from(t.encode([p.prompt]), Number);
        return JSON.stringify(ids) !== JSON.stringify(p.ids) || JSON.stringify(padded) !== JSON.stringify(p.input_ids);
      });
      expect(wrong.map((p) => ({ prompt: p.prompt, expected: p.ids, got: t.ids(p.prompt) }))).toEqual([]);
      expect(Array.from(t.encode([""], { truncation: true }), Number)).toEqual(r.negative_input_ids);
      expect(r.prompts.length).toBeGreaterThanOrEqual(40);
    });
  }
});
