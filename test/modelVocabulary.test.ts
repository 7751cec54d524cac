/**
 * prompts.json (src/pipeline/modelVocabulary.ts, docs/model-folder.md): a model folder's vocabulary.
 * A prompt naming none of its phrases warns through onWarning (API) and on the CLI's stderr; --help
 * lists the bundled model's; the file is bounded and checked, its errors naming it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { helpText } from "../src/cli/helpText.js";
import { main, type CliIO } from "../src/cli/main.js";
import { ModelVocabulary, promptWords, readModelVocabulary, TorchGenerator, VOCABULARY_LIMITS, type ModelFileSource, type OrtModule } from "../src/index.js";
import { directorySource, VQDiffusionPipeline } from "../src/node.js";

const MODEL = new URL("../models/fashion-mnist", import.meta.url).pathname;
const NAMES = "t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot";
const A_CAR = `prompt "a car" names nothing this model was trained on (prompts.json), so the images will not follow it; it knows: ${NAMES}`;

/** A memory source: the bundled folder with prompts.json replaced (null: removed). */
function withPromptsJson(bytes: Uint8Array | null): ModelFileSource {
  const disk = directorySource(MODEL);
  return { location: "memory", read: async (path, options) => (path === "prompts.json" ? bytes : disk.read(path, options)) };
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("prompts.json of the bundled model", async () => {
  const warnings: string[] = [];
  const pipe = await VQDiffusionPipeline.fromPretrained(MODEL, { onWarning: (m) => warnings.push(m) });
  const options = { numInferenceSteps: 1, generator: new TorchGenerator().manualSeed(0) };

  it("lists exactly the ten class names the model was trained on", () => {
    expect(pipe.vocabulary?.classes.map((c) => c.name).join(", ")).toBe(NAMES);
    expect(pipe.vocabulary?.classes.every((c) => c.phrases.length === 1 && c.phrases[0] === c.name)).toBe(true);
    expect(pipe.vocabulary?.summary()).toBe(NAMES);
  });

  it('"a car" warns, saying what the model knows; "ankle boot", "Ankle Boot!" and "a red t shirt" do not', async () => {
    warnings.length = 0;
    await pipe.generate({ ...options, prompt: "a car" });
    expect(warnings).toEqual([A_CAR]);
    warnings.length = 0;
    await pipe.generate({ ...options, prompt: ["ankle boot", "Ankle Boot!", "a red t shirt"] });
    expect(warnings).toEqual([]);
  });

  it('"", "sneakers" and "boots" warn (whole words: the model was trained on "sneaker" and "ankle boot" only); each prompt once', async () => {
    warnings.length = 0;
    await pipe.generate({ ...options, prompt: ["", "sneakers", "boots", "boots"] });
    expect(warnings.map((w) => w.split(" names ")[0])).toEqual(['prompt ""', 'prompt "sneakers"', 'prompt "boots"']);
  });

  it("a folder without prompts.json warns nothing (vocabulary null)", async () => {
    const bare = await VQDiffusionPipeline.fromSource(withPromptsJson(null), ort as unknown as OrtModule);
    expect(bare.vocabulary).toBe(null);
    const own: string[] = [];
    await bare.generate({ ...options, prompt: "a car", onWarning: (m) => own.push(m) });
    expect(own).toEqual([]);
    await bare.release();
  });

  it("a folder whose prompts.json lists variants warns by them", async () => {
    const source = withPromptsJson(json({ classes: [{ name: "bag", phrases: ["bag", "handbag", "purses"] }] }));
    const own: string[] = [];
    const p = await VQDiffusionPipeline.fromSource(source, ort as unknown as OrtModule, undefined, (m) => own.push(m));
    await p.generate({ ...options, prompt: ["purses", "a HANDBAG", "a purse"] });
    expect(own).toEqual(['prompt "a purse" names nothing this model was trained on (prompts.json), so the images will not follow it; it knows: bag (handbag, purses)']);
    await p.release();
  });
});

describe("prompts.json: the format's bounds and errors", () => {
  const errors: [string, unknown, string][] = [
    ["not an object", [1], "prompts.json: expected a JSON object, got [1]"],
    ["an unknown key", { classes: [], extra: 1 }, 'prompts.json: expected only the keys about, classes, got "extra"'],
    ["about not a string", { about: 1, classes: [] }, "prompts.json: expected key about to be a string, got 1"],
    ["no classes", { classes: [] }, "prompts.json: expected key classes to be an array of 1 to 10000 classes, got 0 entries"],
    ["classes not an array", { classes: "bag" }, 'prompts.json: expected key classes to be an array of 1 to 10000 classes, got "bag"'],
    ["a class not an object", { classes: ["bag"] }, 'prompts.json: expected classes[0] to be an object, got "bag"'],
    ["a class key unknown", { classes: [{ name: "bag", phrases: ["bag"], words: [] }] }, 'prompts.json: expected classes[0] to have only the keys name, phrases, prompts, held_out, got "words"'],
    ["no name", { classes: [{ phrases: ["bag"] }] }, "prompts.json: expected key classes[0].name to be a string of 1 to 1000 characters, got undefined"],
    ["empty phrases", { classes: [{ name: "bag", phrases: [] }] }, "prompts.json: expected key classes[0].phrases to be an array of 1 to 100000 strings, got 0 entries"],
    ["a phrase not a string", { classes: [{ name: "bag", phrases: ["bag", 3] }] }, "prompts.json: expected key classes[0].phrases[1] to be a string of 1 to 1000 characters, got 3"],
    ["a phrase without a word", { classes: [{ name: "bag", phrases: ["bag", " - "] }] }, 'prompts.json: expected classes[0].phrases[1] to hold a letter or digit, got " - "'],
    ["a string too long", { classes: [{ name: "b".repeat(1001), phrases: ["bag"] }] }, `prompts.json: expected key classes[0].name to be a string of 1 to 1000 characters, got "${"b".repeat(40)}`],
    ["held_out not an array", { classes: [{ name: "bag", phrases: ["bag"], held_out: "purse" }] }, 'prompts.json: expected key classes[0].held_out to be an array of 0 to 100000 strings, got "purse"'],
  ];
  it.each(errors)("%s is refused, naming the file and the key", (_, value, message) => {
    expect(() => ModelVocabulary.fromJson(value)).toThrow(message);
  });

  it("more than 100 000 strings in all are refused, naming the class where the count ran over", () => {
    const phrases = Array.from({ length: 60_000 }, (_, i) => `p${i}`);
    expect(() => ModelVocabulary.fromJson({ classes: [{ name: "a", phrases }, { name: "b", phrases }] })).toThrow(
      "prompts.json: expected at most 100000 strings in all, got more at classes[1]",
    );
  });

  it("a file over 1 MiB is refused before it is read whole, and one that is not JSON names the file", async () => {
    const big = new Uint8Array(VOCABULARY_LIMITS.maxBytes + 1).fill(32);
    const source: ModelFileSource = {
      location: "memory",
      read: async (path, { maxBytes }) => {
        if (maxBytes < big.length) throw new Error(`${path}: expected a file of at most ${maxBytes} bytes, got ${big.length} bytes`);
        return big;
      },
    };
    await expect(readModelVocabulary(source)).rejects.toThrow(`prompts.json: expected a file of at most ${VOCABULARY_LIMITS.maxBytes} bytes, got ${big.length} bytes`);
    const notJson: ModelFileSource = { location: "memory", read: async () => new TextEncoder().encode("{classes") };
    await expect(readModelVocabulary(notJson)).rejects.toThrow(/^prompts\.json: /);
    await expect(VQDiffusionPipeline.fromSource(withPromptsJson(json({ classes: 1 })), ort as unknown as OrtModule)).rejects.toThrow(
      "prompts.json: expected key classes to be an array of 1 to 10000 classes, got 1",
    );
  });

  it("the input is not modified, and words are lower-cased runs of letters and digits", () => {
    const input = { classes: [{ name: "T-Shirt", phrases: ["T-Shirt"] }] };
    const copy = structuredClone(input);
    const v = ModelVocabulary.fromJson(input);
    expect(input).toEqual(copy);
    expect(promptWords("A T-Shirt, 2 tees!")).toEqual(["a", "t", "shirt", "2", "tees"]);
    expect(v.knows("my t shirt")).toBe(true);
    expect(v.knows("tshirt")).toBe(false);
    expect(v.knows("shirt")).toBe(false);
  });
});

describe("the CLI", () => {
  const capture = (): CliIO & { out: string[]; err: string[] } => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), stderrIsTTY: false };
  };

  /** The help with its line breaks and indents read as single spaces. */
  const flat = (text: string) => text.replace(/\n {20}/g, " ");

  it("--help lists the bundled model's prompts.json, within 100 columns", async () => {
    const io = capture();
    expect(await main(["--help"], io)).toBe(0);
    const help = io.out.join("");
    expect(flat(help)).toContain(`  --prompt TEXT     the prompt; repeat --prompt for several (each gets --images images) fashion-mnist knows (its prompts.json): ${NAMES}\n`);
    expect(help.split("\n").filter((l) => l.includes("knows") || l.includes("ankle boot")).every((l) => l.length <= 100)).toBe(true);
  });

  it("helpText lists a folder's variants; a broken file says why", () => {
    const dir = mkdtempSync(join(tmpdir(), "vqd-vocab-"));
    const classes = ["dress", "coat", "sandal", "sneaker"].map((name) => ({ name, phrases: [name, `${name}s`, `a ${name}`] }));
    writeFileSync(join(dir, "prompts.json"), JSON.stringify({ classes }));
    expect(flat(helpText(dir))).toContain(
      "fashion-mnist knows (its prompts.json): dress (dresss, a dress), coat (coats, a coat), sandal (sandals, a sandal), sneaker (sneakers, a sneaker)\n",
    );
    writeFileSync(join(dir, "prompts.json"), JSON.stringify({ classes: [] }));
    expect(helpText(dir)).toContain(`fashion-mnist's prompts.json could not be read: ${join(dir, "prompts.json")}: expected key classes to be an array`);
  });

  it('generate --prompt "a car" prints the warning on stderr and exits 0', async () => {
    const io = capture();
    const out = join(mkdtempSync(join(tmpdir(), "vqd-vocab-")), "car.png");
    expect(await main(["generate", "--prompt", "a car", "--steps", "1", "--images", "1", "--out", out], io)).toBe(0);
    expect(io.err).toEqual([`warning: ${A_CAR}\n`]);
  });
});
