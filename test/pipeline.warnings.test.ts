/**
 * Warnings of a generation (prompts cut to L tokens; unknown words, which the word-level tokenizer of
 * test/tokenizer.files.test.ts covers) through `onWarning`, in the API (load options, overridden per
 * `generate`) and in the CLI (stderr, `warning:` prefix, exit 0), on the bundled Fashion-MNIST model
 * (CLIP tokenizer, L = 8: a word outside the class names falls apart into byte-level pieces, so a
 * prompt soon runs over 8 tokens). And a list mixing a prompt over L tokens with a short one, which
 * diffusers refuses: here each prompt is cut as it would be alone. The cut texts are transformers'
 * (`CLIPTokenizer.batch_decode` of ids[:, 8:] on the checkpoint).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main, type CliIO } from "../src/cli/main.js";
import * as ort from "onnxruntime-node";
import { TorchGenerator, type ModelFileSource, type OrtModule } from "../src/index.js";
import { directorySource, VQDiffusionPipeline } from "../src/node.js";
import type { OnnxComponent } from "../src/pipeline/onnxComponent.js";
import type { PromptEncodeOptions } from "../src/pipeline/promptTokenizer.js";

const MODEL = new URL("../models/fashion-mnist", import.meta.url).pathname;
const LACES = "a red sneaker with laces";
const LACES_CUT = 'prompt "a red sneaker with laces" is 16 tokens, more than the text encoder\'s 8: only the first 8 are used, as in diffusers. Cut: "th laces <|endoftext|>"';
const LONG = Array.from({ length: 50 }, (_, i) => ["sneaker", "bag", "coat", "dress", "shirt"][i % 5].padEnd(10)).join("");

/** Records the input_ids the text encoder receives, [call][row][L], until restored. */
function spyInputIds(textEncoder: OnnxComponent): { calls: number[][][]; restore: () => void } {
  const calls: number[][][] = [];
  const original = textEncoder.run;
  const run = original.bind(textEncoder);
  textEncoder.run = async (feeds, dims) => {
    const ids = feeds.input_ids as unknown as { data: BigInt64Array; dims: readonly number[] };
    const [rows, L] = ids.dims;
    calls.push(Array.from({ length: rows }, (_, r) => Array.from(ids.data.subarray(r * L, (r + 1) * L), Number)));
    return run(feeds, dims);
  };
  return { calls, restore: () => void (textEncoder.run = original) };
}

describe("generation warnings (Fashion-MNIST)", async () => {
  const loadWarnings: string[] = [];
  const pipe = await VQDiffusionPipeline.fromPretrained(MODEL, { onWarning: (m) => loadWarnings.push(m) });
  const tokenizer = pipe.tokenizer!;
  const options = { numInferenceSteps: 2, generator: new TorchGenerator().manualSeed(0) };

  it('"a red sneaker with laces" (16 tokens) warns through the load options\' onWarning, naming the cut text, and still gives an image', async () => {
    loadWarnings.length = 0;
    const { images } = await pipe.generate({ ...options, prompt: LACES });
    expect(images.length).toBe(1);
    expect(loadWarnings).toEqual([LACES_CUT]);
  });

  it("generate's own onWarning takes the warnings instead; prompts within 8 tokens warn nothing, words outside the class names included", async () => {
    loadWarnings.length = 0;
    const own: string[] = [];
    await pipe.generate({ ...options, prompt: [LACES, "ankle boot"], onWarning: (m) => own.push(m) });
    expect(own).toEqual([LACES_CUT]);
    expect(loadWarnings).toEqual([]);
    // "red coat": a word outside the class names, with one (a prompt naming no class warns: test/modelVocabulary.test.ts).
    await pipe.generate({ ...options, prompt: ["ankle boot", "red coat"] });
    expect(loadWarnings).toEqual([]);
  });

  it("a 500-character prompt is cut to L = 8 tokens with a warning, and a list mixing it with a short prompt gives both images", async () => {
    const warnings: string[] = [];
    const spy = spyInputIds(pipe.components.textEncoder!);
    const { images, tokens } = await pipe.generate({ ...options, prompt: ["bag", LONG], onWarning: (m) => warnings.push(m) });
    spy.restore();
    expect(images.length).toBe(2);
    expect(tokens.dims).toEqual([2, 49]);
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toBe(
      `prompt "sneaker   bag       coat      dress     shirt     sneaker..." is 52 tokens, more than the text encoder's 8: only the first 8 are used, as in diffusers. ` +
        `Cut: "${`${"coat dress shirt sneaker bag ".repeat(8)}coat dress shirt <|endoftext|>`.slice(0, 97)}..."`,
    );
    // Each row is what the prompt gives alone (diffusers raises ValueError for this list).
    const alone = (prompt: string) => Array.from(tokenizer.encode([prompt]), Number);
    expect(spy.calls).toEqual([[alone("bag"), alone(LONG)]]);
    expect(alone(LONG)).toEqual(tokenizer.ids(LONG).slice(0, 8));
  });

  it("the text-to-image guide's example prints this very warning", () => {
    expect(readFileSync(new URL("../docs/text-to-image.md", import.meta.url), "utf8")).toContain(`await pipe.generate({ prompt: "${LACES}" });\n// ${LACES_CUT}\n`);
  });

  it("an onWarning that is not a function is refused before anything runs", async () => {
    await expect(pipe.generate({ ...options, prompt: "bag", onWarning: "console" as unknown as () => void })).rejects.toThrow('onWarning: expected a function (message: string) => void, got "console"');
    await expect(VQDiffusionPipeline.fromPretrained(MODEL, { onWarning: 1 as unknown as () => void })).rejects.toThrow("onWarning: expected a function (message: string) => void, got 1");
  });
});

describe("the unconditional prompt of a folder without learned null embeddings", () => {
  it('is "" encoded with truncation (one row, repeated for every image); the prompt without, as in diffusers\' _encode_prompt', async () => {
    const disk = directorySource(MODEL);
    const config = new TextEncoder().encode(JSON.stringify({ learnable: false, hidden_size: 64, length: 8 }));
    const source: ModelFileSource = {
      location: "memory",
      read: async (path, options) => (path === "learned_classifier_free_sampling_embeddings/config.json" ? config : disk.read(path, options)),
    };
    const pipe = await VQDiffusionPipeline.fromSource(source, ort as unknown as OrtModule);
    expect(pipe.components.nullEmbeddings).toBe(null);
    const tokenizer = pipe.tokenizer!;
    const calls: { prompts: readonly string[]; truncation: boolean | undefined }[] = [];
    const encode = tokenizer.encode.bind(tokenizer);
    tokenizer.encode = (prompts: readonly string[], options?: PromptEncodeOptions) => {
      calls.push({ prompts: [...prompts], truncation: options?.truncation });
      return encode(prompts, options);
    };
    await pipe.generate({ prompt: ["bag", "coat"], guidanceScale: 3, numInferenceSteps: 2, generator: new TorchGenerator().manualSeed(0) });
    expect(calls).toEqual([
      { prompts: ["bag", "coat"], truncation: undefined },
      { prompts: [""], truncation: true },
    ]);
    await pipe.release();
  });
});

describe("vq-diffusion generate prints warnings", () => {
  const dir = mkdtempSync(join(tmpdir(), "vqd-warn-"));
  const capture = (): CliIO & { out: string[]; err: string[] } => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), stderrIsTTY: false };
  };

  it('to stderr with a "warning:" prefix, and exits 0', async () => {
    const io = capture();
    expect(await main(["generate", "--model", "fashion-mnist", "--prompt", LACES, "--steps", "2", "--out", join(dir, "laces.png")], io)).toBe(0);
    expect(io.err).toEqual([`warning: ${LACES_CUT}\n`]);
    expect(io.out.join("")).toMatch(/^wrote .*laces\.png: 4 images of "a red sneaker with laces"/);
    const long = capture();
    expect(await main(["generate", "--model", "fashion-mnist", "--prompt", LONG, "--steps", "2", "--out", join(dir, "long.png")], long)).toBe(0);
    expect(long.err.length).toBe(1);
    expect(long.err[0]).toMatch(/^warning: prompt "sneaker .*" is 52 tokens, more than the text encoder's 8: only the first 8 are used, as in diffusers\. Cut: "coat dress .*"\n$/);
  });
});
