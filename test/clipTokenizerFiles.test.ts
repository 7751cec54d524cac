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

describe("clipTokenizerJson's special tokens, as transformers 5.17's CLIPTokenizer adds them", () => {
  // Each expected list is what `json.loads(CLIPTokenizer.from_pretrained(folder).backend_tokenizer.to_str())["added_tokens"]`
  // printed for the D vocabulary with these config files (transformers 5.17, recorded while writing this test).
  const t = (id: number, content: string, flags: Partial<Record<"lstrip" | "normalized", boolean>> = {}) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...flags });
  const files = () => ({ vocab: json(`${D}/vocab.json`), merges: text(`${D}/merges.txt`) });
  const tok = (content: string, flags = {}) => ({ content, single_word: false, lstrip: false, rstrip: false, normalized: true, ...flags });
  const ithqMap = { bos_token: tok("<|startoftext|>"), eos_token: tok("<|endoftext|>"), unk_token: tok("<|endoftext|>"), pad_token: "!" };

  it("no config files: CLIPTokenizer's defaults, as plain strings (not normalized)", () => {
    const { tokenizer, config } = clipTokenizerJson(files());
    expect(tokenizer.added_tokens).toEqual([t(712, "<|startoftext|>"), t(713, "<|endoftext|>")]);
    expect(config).toEqual({ bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>", pad_token: "<|endoftext|>" });
  });

  it("special_tokens_map.json alone (ITHQ's): the plain-string pad \"!\" becomes an added token", () => {
    const { tokenizer } = clipTokenizerJson({ ...files(), specialTokensMap: ithqMap });
    expect(tokenizer.added_tokens).toEqual([t(0, "!"), t(712, "<|startoftext|>", { normalized: true }), t(713, "<|endoftext|>", { normalized: true })]);
  });

  it("AddedToken flags kept, and a token outside the vocabulary gets the next id", () => {
    const tokenizerConfig = { pad_token: { __type: "AddedToken", ...tok("!", { lstrip: true }) }, bos_token: "<|startoftext|>", additional_special_tokens: ["hello</w>"] };
    const { tokenizer } = clipTokenizerJson({ ...files(), tokenizerConfig });
    expect(tokenizer.added_tokens).toEqual([t(0, "!", { lstrip: true, normalized: true }), t(712, "<|startoftext|>"), t(713, "<|endoftext|>"), t(714, "hello</w>")]);
  });

  it("special_tokens_map.json wins over tokenizer_config.json, and the config given back pads with its pad token", () => {
    const tokenizerConfig = { pad_token: "!", bos_token: { __type: "AddedToken", content: "<|startoftext|>", normalized: true } };
    const specialTokensMap = { pad_token: '"', bos_token: { content: "<|startoftext|>", normalized: false, lstrip: true } };
    const { tokenizer, config } = clipTokenizerJson({ ...files(), tokenizerConfig, specialTokensMap });
    expect(tokenizer.added_tokens).toEqual([t(1, '"'), t(712, "<|startoftext|>", { lstrip: true }), t(713, "<|endoftext|>")]);
    expect(new PromptTokenizer(tokenizer, config, 12).padId).toBe(1);
  });
});

describe("clipTokenizerJson on bad files", () => {
  const base = () => slowFilesOfD();
  const error = (files: Parameters<typeof clipTokenizerJson>[0]) => {
    try {
      clipTokenizerJson(files);
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  it("refuses a vocabulary that is not an object of distinct integer ids", () => {
    expect(error({ ...base(), vocab: [] })).toBe("tokenizer/vocab.json: expected a JSON object of token → id, got []");
    expect(error({ ...base(), vocab: { a: 0, b: "1" } })).toBe('tokenizer/vocab.json: expected each id to be an integer in [0, 1000000), got "1" for "b"');
    expect(error({ ...base(), vocab: { a: 0, b: 0 } })).toBe('tokenizer/vocab.json: expected each id once, got 0 again for "b"');
  });
  it("refuses a merge line that is not two symbols, or whose symbols are not in the vocabulary", () => {
    expect(error({ ...base(), merges: "#version: 0.2\ni n\nt  h\n" })).toBe('tokenizer/merges.txt: line 3: expected two symbols separated by one space, got "t  h"');
    expect(error({ ...base(), merges: "#version: 0.2\ni n\nq zz\n" })).toBe('tokenizer/merges.txt: line 3: expected symbols in the vocabulary, got "zz", which is not');
  });
  it("refuses a special token of another form, naming the file and key", () => {
    expect(error({ ...base(), specialTokensMap: { pad_token: 3 } })).toBe('tokenizer/special_tokens_map.json: expected pad_token to be a string or {"content": string, ...} (an AddedToken), got 3');
    expect(error({ ...base(), tokenizerConfig: { added_tokens_decoder: { "5": { content: "<|endoftext|>" } } } })).toBe(
      'tokenizer/tokenizer_config.json: added_tokens_decoder: expected "<|endoftext|>" at its vocabulary id 713, got id 5',
    );
  });
  it("does not modify its inputs", () => {
    const files = base();
    const copy = structuredClone(files);
    clipTokenizerJson(files);
    expect(files).toEqual(copy);
  });
});
