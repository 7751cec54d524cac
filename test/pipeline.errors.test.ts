/**
 * Bad input to the pipeline: each gets an Error naming the file or option, what was expected and
 * what came, and nothing is generated (the generator draws nothing).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionPipeline } from "../src/index.js";
import type { ModelFileSource } from "../src/files/modelFileSource.js";
import { OnnxComponent, type OrtModule } from "../src/pipeline/onnxComponent.js";
import { directorySource, VQDiffusionPipeline as NodePipeline } from "../src/node.js";
import { safetensorsBytes } from "./helpers/safetensorsWriter.js";

const DIR = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
const BAD = new URL("./fixtures/bad-onnx/", import.meta.url).pathname;
const ORT = ort as unknown as OrtModule;
const json = (path: string) => JSON.parse(readFileSync(DIR + path, "utf8")) as Record<string, unknown>;
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** The tiny-a folder with some files replaced (null: removed). */
function folder(changes: Record<string, Uint8Array | null>): ModelFileSource {
  const disk = directorySource(DIR);
  return { location: "memory", read: async (path, options) => (path in changes ? changes[path] : disk.read(path, options)) };
}

async function loadError(changes: Record<string, Uint8Array | null>): Promise<string> {
  try {
    await VQDiffusionPipeline.fromSource(folder(changes), ORT);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the folder to be rejected");
}

describe("model folder errors", () => {
  it("a missing component file or config", async () => {
    expect(await loadError({ "transformer/model.onnx": null })).toBe("transformer/model.onnx: expected an ONNX model in the model folder memory, got no such file");
    expect(await loadError({ "vqvae_decoder/model.onnx": null })).toBe("vqvae_decoder/model.onnx: expected an ONNX model in the model folder memory, got no such file");
    expect(await loadError({ "model_index.json": null })).toBe("model_index.json: expected the pipeline's index (model_index.json) in the model folder memory, got no such file");
    expect(await loadError({ "vqvae/config.json": null })).toBe("vqvae/config.json: expected the VQ-VAE's config in the model folder memory, got no such file");
    expect(await loadError({ "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors": null })).toBe(
      "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors: expected the learned null embeddings in the model folder memory, got no such file",
    );
  });

  it("a missing or malformed config key", async () => {
    const t = json("transformer/config.json");
    expect(await loadError({ "transformer/config.json": bytes({ ...t, num_vector_embeds: undefined }) })).toBe(
      "transformer/config.json: expected key num_vector_embeds to be an integer in [2, 65537], got undefined",
    );
    expect(await loadError({ "transformer/config.json": bytes({ ...t, cross_attention_dim: "32" }) })).toBe(
      'transformer/config.json: expected key cross_attention_dim to be an integer in [1, 16384], got "32"',
    );
    const idx = json("model_index.json");
    expect(await loadError({ "model_index.json": bytes({ ...idx, transformer: "Transformer2DModel" }) })).toBe(
      'model_index.json: expected key transformer to be [library, class], got "Transformer2DModel"',
    );
    expect(await loadError({ "scheduler/scheduler_config.json": new TextEncoder().encode("{ nope") })).toMatch(/^scheduler\/scheduler_config.json: expected JSON, got a parse error/);
    const e = json("learned_classifier_free_sampling_embeddings/config.json");
    expect(await loadError({ "learned_classifier_free_sampling_embeddings/config.json": bytes({ ...e, learnable: "yes" }) })).toBe(
      'learned_classifier_free_sampling_embeddings/config.json: expected key learnable to be true or false, got "yes"',
    );
  });

  it("sizes from files are bounded before anything is allocated", async () => {
    const s = json("scheduler/scheduler_config.json");
    const t = json("transformer/config.json");
    expect(await loadError({ "scheduler/scheduler_config.json": bytes({ ...s, num_train_timesteps: 1e9 }) })).toBe(
      "scheduler/scheduler_config.json: expected key num_train_timesteps to be an integer in [2, 10000], got 1000000000",
    );
    expect(await loadError({ "transformer/config.json": bytes({ ...t, height: 65536, width: 65536 }) })).toBe(
      "transformer/config.json: expected height · width <= 65536 latent pixels, got 65536 · 65536 = 4294967296",
    );
  });

  it("a transformer config whose K or T disagrees with the scheduler's, or whose N disagrees with the model", async () => {
    const t = json("transformer/config.json");
    expect(await loadError({ "transformer/config.json": bytes({ ...t, num_vector_embeds: 18 }) })).toBe(
      "transformer/config.json: expected num_vector_embeds = the scheduler's num_vec_classes = 17, got 18",
    );
    expect(await loadError({ "transformer/config.json": bytes({ ...t, num_embeds_ada_norm: 50 }) })).toBe(
      "transformer/config.json: expected num_embeds_ada_norm = the scheduler's num_train_timesteps = 100, got 50",
    );
    expect(await loadError({ "transformer/config.json": bytes({ ...t, sample_size: 5 }) })).toBe(
      "transformer/model.onnx: expected input hidden_states of dims [B, N] = [*, 25], got [batch, 16]",
    );
  });

  it("null embeddings whose size disagrees with the transformer's D", async () => {
    const e = json("learned_classifier_free_sampling_embeddings/config.json");
    expect(await loadError({ "learned_classifier_free_sampling_embeddings/config.json": bytes({ ...e, hidden_size: 16 }) })).toBe(
      "learned_classifier_free_sampling_embeddings/config.json: expected hidden_size = the transformer's cross_attention_dim = 32, got 16",
    );
    const path = "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors";
    expect(await loadError({ [path]: safetensorsBytes({ embeddings: { dims: [4, 32], data: new Float32Array(128) } }) })).toBe(
      `${path}: expected "embeddings" of shape [L, D] = [8, 32], got [4, 32]`,
    );
    expect(await loadError({ [path]: safetensorsBytes({ other: { dims: [8, 32], data: new Float32Array(256) } }) })).toBe(
      `${path}: expected a tensor "embeddings", got [other]`,
    );
    expect(await loadError({ [path]: safetensorsBytes({ embeddings: { dims: [8, 32], data: new Float32Array(256) } }, { headerLength: 1n << 40n }) })).toMatch(
      new RegExp(`^${path}: expected a header of at most \\d+ bytes \\(the rest of the file\\), got a header length of 1099511627776$`),
    );
  });

  it("an ONNX model without the contract's inputs, with a wrong element type, or a wrong output size", async () => {
    const decoder = new Uint8Array(readFileSync(DIR + "vqvae_decoder/model.onnx"));
    expect(await loadError({ "transformer/model.onnx": decoder })).toBe(
      "transformer/model.onnx: expected inputs hidden_states (int64 [B, N]), encoder_hidden_states (float32 [B, L, D]), timestep (int64 [] (a scalar)), got inputs [indices] (missing hidden_states, encoder_hidden_states, timestep)",
    );
    expect(await loadError({ "transformer/model.onnx": new Uint8Array(readFileSync(BAD + "float-tokens-transformer.onnx")) })).toBe(
      "transformer/model.onnx: expected input hidden_states of element type int64, got float32",
    );
    expect(await loadError({ "transformer/model.onnx": new Uint8Array(readFileSync(BAD + "wrong-classes-transformer.onnx")) })).toBe(
      "transformer/model.onnx: expected output sample of dims [B, K-1, N] = [*, 16, 16], got [batch, 5, 16]",
    );
    // Scanned for external data first: bytes that are not protobuf are refused before onnxruntime sees them.
    expect(await loadError({ "vqvae_decoder/model.onnx": new Uint8Array([1, 2, 3]) })).toBe(
      "vqvae_decoder/model.onnx: expected an ONNX model onnxruntime can load, got a malformed protobuf message (a fixed-size field cut off at byte 1)",
    );
    // Protobuf, but not a model onnxruntime accepts: its own error.
    expect(await loadError({ "vqvae_decoder/model.onnx": new Uint8Array([0x08, 0x01]) })).toMatch(/^vqvae_decoder\/model.onnx: expected an ONNX model onnxruntime can load, got an error: /);
  });

  it("an ort that is not an onnxruntime module", async () => {
    await expect(VQDiffusionPipeline.fromSource(folder({}), {} as OrtModule)).rejects.toThrow(
      'ort: expected an onnxruntime module (import * as ort from "onnxruntime-web" or "onnxruntime-node"), got an object',
    );
  });

  it("a folder that is not one (Node entry)", async () => {
    const expected = (path: string, what: string) => new Error(`pretrainedModelNameOrPath: expected a model folder holding model_index.json, got ${path} (${what})`);
    await expect(NodePipeline.fromPretrained(BAD)).rejects.toThrow(expected(BAD.replace(/\/$/, ""), "a folder without model_index.json"));
    await expect(NodePipeline.fromPretrained(join(BAD, "absent"))).rejects.toThrow(expected(join(BAD, "absent"), "no such folder"));
    await expect(NodePipeline.fromPretrained(join(DIR, "model_index.json"))).rejects.toThrow(expected(join(DIR, "model_index.json"), "not a folder"));
  });

  it("a relative URL where there is no page to resolve it against (the core entry in Node.js)", async () => {
    for (const url of ["/models/fashion-mnist", "./models/fashion-mnist"]) {
      await expect(VQDiffusionPipeline.fromPretrained(url, { ort: ORT })).rejects.toThrow(
        new Error(
          `baseUrl: expected an absolute URL (https://…) where there is no page to resolve a relative one against ` +
            `(in Node.js, vq-diffusion/node's fromPretrained loads a folder from disk), got "${url}"`,
        ),
      );
    }
  });

  it("a diffusers checkpoint read as a model folder (not through vq-diffusion/node, which converts it): the first missing file's message says how to convert it", async () => {
    const checkpoint = new URL("./fixtures/real-golden/D/diffusers", import.meta.url).pathname;
    await expect(VQDiffusionPipeline.fromSource(directorySource(checkpoint), ORT)).rejects.toThrow(
      new Error(
        `tokenizer/tokenizer.json: expected the tokenizer (Hugging Face tokenizers format) in the model folder ${checkpoint}, got no such file ` +
          `(the folder is a diffusers checkpoint: transformer/diffusion_pytorch_model.bin, no transformer/model.onnx; vq-diffusion/node's fromPretrained ` +
          "converts it on first use, or convert it once with `npx vq-diffusion convert --model DIR --out DIR2`: docs/real-checkpoints.md)",
      ),
    );
    // An exported folder missing a file gets the plain message (tiny-a's files, tokenizer-less, minus its decoder).
    const dir = mkdtempSync(join(tmpdir(), "vqd-unexported-"));
    cpSync(DIR, dir, { recursive: true });
    rmSync(join(dir, "vqvae_decoder/model.onnx"));
    await expect(NodePipeline.fromPretrained(dir)).rejects.toThrow(new Error(`vqvae_decoder/model.onnx: expected an ONNX model in the model folder ${dir}, got no such file`));
  });

  it("a session error from onnxruntime is rethrown with the component's file", async () => {
    const spec = {
      inputs: [{ name: "indices", type: "int64" as const, dims: [null, 16], what: "[B, N]" }],
      outputs: [{ name: "sample", type: "float32" as const, dims: [null, null, null, null], what: "[B, C, H, W]" }],
    };
    const c = await OnnxComponent.create(ORT, new Uint8Array(readFileSync(DIR + "vqvae_decoder/model.onnx")), "vqvae_decoder/model.onnx", spec, undefined);
    // Index 99 is outside the 16-code codebook: onnxruntime's Gather fails.
    await expect(c.run({ indices: c.tensor("int64", new BigInt64Array(16).fill(99n), [1, 16]) }, [1, null, null, null])).rejects.toThrow(
      /^vqvae_decoder\/model.onnx: onnxruntime failed: /,
    );
  });
});

describe("generate errors", async () => {
  const pipe = await VQDiffusionPipeline.fromSource(folder({}), ORT);
  const embeds = { data: new Float32Array(8 * 32).fill(0.5), dims: [1, 8, 32] };

  async function generateError(options: Parameters<typeof pipe.generate>[0]): Promise<string> {
    const generator = new TorchGenerator().manualSeed(5);
    try {
      await pipe.generate({ ...options, generator });
    } catch (e) {
      // Nothing was generated: the generator's next draw is its first.
      expect(generator.rand([1]).data[0]).toBe(new TorchGenerator().manualSeed(5).rand([1]).data[0]);
      return (e as Error).message;
    }
    throw new Error("expected the options to be rejected");
  }

  it("prompt and promptEmbeds: both, neither, or a prompt without a text encoder", async () => {
    expect(await generateError({})).toBe("prompt: expected exactly one of prompt and promptEmbeds, got neither");
    expect(await generateError({ prompt: "a", promptEmbeds: embeds })).toBe("prompt: expected exactly one of prompt and promptEmbeds, got both");
    expect(await generateError({ prompt: "a cat" })).toBe('prompt: expected promptEmbeds instead (this model folder has no text_encoder/tokenizer), got "a cat"');
  });

  it("promptEmbeds whose L or D differs from the model's", async () => {
    expect(await generateError({ promptEmbeds: { data: new Float32Array(8 * 16), dims: [1, 8, 16] } })).toBe(
      "promptEmbeds.dims: expected [P, L, D] with L = 8, D = 32 = [*, 8, 32], got [1, 8, 16]",
    );
    expect(await generateError({ promptEmbeds: { data: new Float32Array(7 * 32), dims: [1, 7, 32] } })).toBe(
      "promptEmbeds.dims: expected [P, L, D] with L = 8, D = 32 = [*, 8, 32], got [1, 7, 32]",
    );
    expect(await generateError({ promptEmbeds: { data: new Float32Array(8 * 32), dims: [1, 8, 32] } })).toBe(
      "promptEmbeds: expected embedding vectors of finite, non-zero length, got vector 0 of length 0",
    );
  });

  it("latents of the wrong shape or with tokens outside [0, K-1]", async () => {
    expect(await generateError({ promptEmbeds: embeds, latents: { data: new Int32Array(15), dims: [1, 15] } })).toBe(
      "latents.dims: expected [B, N] with B = prompts × numImagesPerPrompt = [1, 16], got [1, 15]",
    );
    expect(await generateError({ promptEmbeds: embeds, numImagesPerPrompt: 2, latents: { data: new Int32Array(16), dims: [1, 16] } })).toBe(
      "latents.dims: expected [B, N] with B = prompts × numImagesPerPrompt = [2, 16], got [1, 16]",
    );
    const bad = new Int32Array(16).fill(16);
    bad[3] = 17;
    expect(await generateError({ promptEmbeds: embeds, latents: { data: bad, dims: [1, 16] } })).toBe(
      "latents.data: expected tokens in [0, 16] (K = 17 classes), got 17 at index [0, 3]",
    );
  });

  it("numImagesPerPrompt, steps, guidance, truncation, generator", async () => {
    expect(await generateError({ promptEmbeds: embeds, numImagesPerPrompt: 0 })).toBe("numImagesPerPrompt: expected an integer >= 1, got 0");
    expect(await generateError({ promptEmbeds: embeds, numImagesPerPrompt: 1.5 })).toBe("numImagesPerPrompt: expected an integer >= 1, got 1.5");
    expect(await generateError({ promptEmbeds: embeds, numImagesPerPrompt: 2000 })).toBe("numImagesPerPrompt: expected prompts × images per prompt <= 1024, got 1 × 2000 = 2000");
    expect(await generateError({ promptEmbeds: embeds, numInferenceSteps: 101 })).toBe("numInferenceSteps: expected an integer in [1, 100] (numTrainTimesteps = 100), got 101");
    expect(await generateError({ promptEmbeds: embeds, guidanceScale: NaN })).toBe("guidanceScale: expected a finite number, got NaN");
    expect(await generateError({ promptEmbeds: embeds, truncationRate: 0 })).toBe("truncationRate: expected a number in (0, 1], got 0");
    await expect(pipe.generate({ promptEmbeds: embeds, generator: {} as TorchGenerator })).rejects.toThrow("generator: expected a TorchGenerator (methods manualSeed, rand, fillRand, getState, setState, nextUint32, fillUint32), got an object without manualSeed()");
  });

  it("an unknown key: a typo or diffusers' snake_case spelling is named, never a silent default", async () => {
    const accepted =
      "options: expected only the keys prompt, promptEmbeds, numImagesPerPrompt, numInferenceSteps, guidanceScale, truncationRate, generator, latents, " +
      "timestepSpacing, strategy, truncationTopK, mode, onStep, signal, initTokens, strength, keepMask, onWarning, threads, got";
    const loose = (options: Record<string, unknown>) => generateError(options as Parameters<typeof pipe.generate>[0]);
    expect(await loose({ promt: "ankle boot", guidanceScale: 5 })).toBe(`${accepted} the unknown key "promt" (did you mean prompt?)`);
    expect(await loose({ promptEmbeds: embeds, guidance_scale: 5 })).toBe(`${accepted} the unknown key "guidance_scale" (Python's spelling of guidanceScale)`);
    expect(await loose({ promptEmbeds: embeds, num_inference_steps: 3, callback: () => undefined, seed: 0 })).toBe(
      `${accepted} the unknown keys "num_inference_steps" (Python's spelling of numInferenceSteps), "callback" (Python's spelling of onStep), "seed"`,
    );
    // Checked first: a bad value of a known key does not hide it; an undefined value is still a key.
    expect(await loose({ promptEmbeds: embeds, numInferenceSteps: 0, guidancescale: undefined })).toBe(`${accepted} the unknown key "guidancescale" (did you mean guidanceScale?)`);
  });

  it("a prompt that is neither a string nor a non-empty array of strings", async () => {
    const withText = { prompt: 3 as unknown as string };
    expect(await generateError(withText)).toBe("prompt: expected a string or a non-empty array of strings, got 3");
    expect(await generateError({ prompt: [] })).toBe("prompt: expected a string or a non-empty array of strings, got []");
    expect(await generateError({ prompt: ["a", 2 as unknown as string] })).toBe('prompt: expected a string or a non-empty array of strings, got ["a", 2]');
  });

  it("does not modify promptEmbeds or latents", async () => {
    const e = { data: Float32Array.from({ length: 256 }, (_, i) => Math.sin(i)), dims: [1, 8, 32] };
    const l = { data: new Int32Array(16).fill(16), dims: [1, 16] };
    const [e0, l0] = [e.data.slice(), l.data.slice()];
    await pipe.generate({ promptEmbeds: e, latents: l, numInferenceSteps: 3, generator: new TorchGenerator().manualSeed(0) });
    expect(e.data).toEqual(e0);
    expect(l.data).toEqual(l0);
  });
});
