/**
 * The bundled Fashion-MNIST model (models/fashion-mnist, exported by the former Python exporter from the
 * diffusers checkpoint models/fashion-mnist-diffusers): its ONNX components against the
 * checkpoint's PyTorch outputs recorded at export, loaded through the pipeline's own code; determinism;
 * the CLIP tokenizer's handling of words outside the class names; and a fixed-seed statistical check
 * with the evaluation classifier (the one test here that needs the trained weights, not just the
 * architecture).
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { TorchGenerator, type OrtModule } from "../src/index.js";
import { VQDiffusionPipeline } from "../src/node.js";
import { CLASS_NAMES, imagesToUnit, loadClassifier } from "./helpers/fashionEval.mjs";
import { FASHION_RECORDED } from "./helpers/tokenizerFiles.js";

const MODEL = new URL("../models/fashion-mnist", import.meta.url).pathname;
type Recorded = { dims: number[]; data: number[] };
const checks = JSON.parse(readFileSync(new URL("./fixtures/fashion-mnist-export.json", import.meta.url), "utf8")) as {
  text_encoder: { prompts: string[]; input_ids: Recorded; last_hidden_state: Recorded };
  transformer: { hidden_states: Recorded; encoder_hidden_states: Recorded; timestep: number; sample: Recorded };
  vqvae_decoder: { indices: Recorded; sample: Recorded };
  classifier: { images: Recorded; logits: Recorded; features: Recorded };
};

/** max |a − b| / (atol + rtol·|b|) ≤ 1 elementwise; returns the largest absolute difference. */
function expectClose(actual: ArrayLike<number>, expected: Recorded, atol: number, rtol: number): number {
  expect(actual.length).toBe(expected.data.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected.data[i]);
    worst = Math.max(worst, d);
    if (d > atol + rtol * Math.abs(expected.data[i])) throw new Error(`element ${i}: ${actual[i]} vs ${expected.data[i]} (|diff| ${d})`);
  }
  return worst;
}

const int64 = (r: Recorded) => BigInt64Array.from(r.data.map(BigInt));

describe("Fashion-MNIST model", async () => {
  const pipe = await VQDiffusionPipeline.fromPretrained(MODEL);
  const { transformer, decoder, textEncoder, tokenizer } = pipe.components;

  it("loads with the sizes of its configs (K = 257, 7×7 tokens, T = 100, L = 8, D = 64)", () => {
    expect(pipe.config).toEqual({ numVecClasses: 257, height: 7, width: 7, numLatentPixels: 49, numTrainTimesteps: 100, crossAttentionDim: 64, sequenceLength: 8, learnable: true });
  });

  it("tokenizer and text encoder give PyTorch's ids and outputs (within 1e-5 + 1e-5·|x|)", async () => {
    const r = checks.text_encoder;
    const ids = tokenizer!.encode(r.prompts);
    expect(Array.from(ids, Number)).toEqual(r.input_ids.data);
    const out = await textEncoder!.run({ input_ids: textEncoder!.tensor("int64", ids, r.input_ids.dims) }, r.last_hidden_state.dims);
    expectClose(out.data, r.last_hidden_state, 1e-5, 1e-5);
  });

  it("transformer gives PyTorch's log p(x_0 | x_t) (within 1e-4 + 1e-5·|x|)", async () => {
    const r = checks.transformer;
    const out = await transformer.run(
      {
        hidden_states: transformer.tensor("int64", int64(r.hidden_states), r.hidden_states.dims),
        encoder_hidden_states: transformer.tensor("float32", Float32Array.from(r.encoder_hidden_states.data), r.encoder_hidden_states.dims),
        timestep: transformer.tensor("int64", BigInt64Array.of(BigInt(r.timestep)), []),
      },
      r.sample.dims,
    );
    expectClose(out.data, r.sample, 1e-4, 1e-5);
  });

  it("VQ-VAE decoder gives PyTorch's images (within 1e-4)", async () => {
    const r = checks.vqvae_decoder;
    const out = await decoder.run({ indices: decoder.tensor("int64", int64(r.indices), r.indices.dims) }, r.sample.dims);
    expectClose(out.data, r.sample, 1e-4, 0);
  });

  it("evaluation classifier gives PyTorch's logits and features (within 1e-4 + 1e-5·|x|)", async () => {
    const r = checks.classifier;
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(new URL("../models/fashion-mnist-eval/classifier.onnx", import.meta.url))));
    const out = await session.run({ images: new ort.Tensor("float32", Float32Array.from(r.images.data), r.images.dims) });
    expectClose(out.logits.data as Float32Array, r.logits, 1e-4, 1e-5);
    expectClose(out.features.data as Float32Array, r.features, 1e-4, 1e-5);
  });

  it("the same seed gives the same images; another seed, other images", async () => {
    const run = (seed: number) => pipe.generate({ prompt: "sneaker", numImagesPerPrompt: 2, numInferenceSteps: 10, generator: new TorchGenerator().manualSeed(seed) });
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(a.images.map((im) => Array.from(im.data))).toEqual(b.images.map((im) => Array.from(im.data)));
    expect(Array.from(a.tokens.data)).toEqual(Array.from(b.tokens.data));
    expect(Array.from(a.tokens.data)).not.toEqual(Array.from(c.tokens.data));
    expect(a.images.map((im) => Array.from(im.data))).not.toEqual(c.images.map((im) => Array.from(im.data)));
  });

  it("CLIP tokenizer: the ids transformers' CLIPTokenizer gives on the checkpoint; other words become byte-level pieces, case does not matter", () => {
    const end = FASHION_RECORDED.eos_token_id;
    expect(tokenizer!.padId).toBe(end);
    const encode = (prompt: string) => Array.from(tokenizer!.encode([prompt]), Number);
    for (const { prompt, input_ids } of FASHION_RECORDED.prompts) expect(encode(prompt), prompt).toEqual(input_ids);
    expect(encode("A RED sneaker")).toEqual(encode("a red SNEAKER"));
    // Over L: the first 8 ids, the end token lost (as diffusers).
    expect(encode("one two three four five six seven eight nine")).toEqual(tokenizer!.ids("one two three four five six seven eight nine").slice(0, 8));
    expect(encode("one two three four five six seven eight nine")).not.toContain(end);
  });

  it("the prompts the CLI and the page list are the class names its training log lists, in label order, with the same ids", () => {
    // The former train_diffusers.py logged "prompt ids t-shirt: [556, ...]; trouser: [...]; ..." before training the transformer.
    const log = readFileSync(new URL("../models/fashion-mnist/training-log.txt", import.meta.url), "utf8");
    const line = log.split("\n").find((l) => l.includes("] prompt ids "));
    expect(line).toBeDefined();
    const logged = line!.slice(line!.indexOf("] prompt ids ") + 13).split("; ").map((entry) => {
      const [name, ids] = entry.split(": ");
      return [name, JSON.parse(ids) as number[]] as const;
    });
    expect(logged.map(([name]) => name)).toEqual([...CLASS_NAMES]);
    for (const [name, ids] of logged) expect(Array.from(tokenizer!.encode([name]), Number)).toEqual(ids);
  });

  it("100 samples of one prompt (25 linspace steps, guidance 5): at least 80 % classified as that prompt", async () => {
    const classifier = await loadClassifier(ort as unknown as OrtModule);
    const prompt = "ankle boot";
    const { images } = await pipe.generate({
      prompt, numImagesPerPrompt: 100, numInferenceSteps: 25, guidanceScale: 5, timestepSpacing: "linspace",
      generator: new TorchGenerator().manualSeed(2026),
    });
    const { labels } = await classifier.classify(imagesToUnit(images), images.length);
    const hits = Array.from(labels).filter((l) => l === CLASS_NAMES.indexOf(prompt)).length;
    expect(hits).toBeGreaterThanOrEqual(80);
  });
});
