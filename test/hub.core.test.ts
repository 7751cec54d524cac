/**
 * The Hub pieces of the core, alone: ids and revisions, file paths from a listing (properties with
 * fast-check), the pipeline's file choice, the byte count of a download body, and a Hub id through
 * the core entry (fetch, no Cache Storage in Node.js: the files are kept for the one load).
 */
import fc from "fast-check";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRepoFilePath, isModelIdForm, parseModelId, pipelineFiles, VQDiffusionPipeline, type OrtModule } from "../src/index.js";
import { countedBody } from "../src/files/hub/progress.js";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";

const PATH_RULE =
  'expected a file path inside the repository (relative, "/"-separated, no "..", "." or empty segment, no backslash, NUL or control character, no drive such as C:, at most 1024 characters)';

describe("model ids and file paths", () => {
  it("the id form: one slash and no path or URL prefix", () => {
    expect(["org/name", "a/b", "org/na.me_1-x"].map(isModelIdForm)).toEqual([true, true, true]);
    expect(["./org/name", "../a/b", "/a/b", "https://x/y", "file:a/b", "~/a", "a/b/c", "name"].map(isModelIdForm)).toEqual(Array(8).fill(false));
    expect(parseModelId("org/vq-diffusion-tiny")).toEqual({ id: "org/vq-diffusion-tiny", org: "org", name: "vq-diffusion-tiny" });
  });

  it("a path with '..', '.', an empty segment, a backslash, NUL, a control character, a leading slash or a drive is refused", () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,12}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (parts) => checkRepoFilePath(parts.join("/"), "w") === parts.join("/")));
    const poison = fc.constantFrom("..", ".", "", "a\\b", "a\u0000b", "a\nb", "C:", "\\\\host");
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 3 }), poison, fc.array(segment, { maxLength: 3 }), (before, bad, after) => {
        const path = [...before, bad, ...after].join("/");
        expect(() => checkRepoFilePath(path, "the listing")).toThrow(`the listing: ${PATH_RULE}, got`);
      }),
    );
    expect(() => checkRepoFilePath("/etc/passwd", "the listing")).toThrow(`the listing: ${PATH_RULE}, got "/etc/passwd"`);
  });

  it("the pipeline's files: configs, ONNX models and their data, tokenizer, null embeddings; never PyTorch weights", () => {
    const listing = [
      "model_index.json", "README.md", "scheduler/scheduler_config.json", "transformer/config.json", "transformer/model.onnx",
      "transformer/model.onnx_data", "transformer/model.onnx.data", "transformer/diffusion_pytorch_model.bin", "transformer/diffusion_pytorch_model.safetensors",
      "transformer/model_fp16.onnx", "vqvae/config.json", "vqvae/diffusion_pytorch_model.bin", "vqvae_decoder/model.onnx", "text_encoder/model.onnx",
      "text_encoder/pytorch_model.bin", "text_encoder/model.safetensors", "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
      "learned_classifier_free_sampling_embeddings/config.json", "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors",
      "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.bin", "flax_model.msgpack",
    ].map((path) => ({ path, size: 1 }));
    expect(pipelineFiles(listing).map((f) => f.path)).toEqual([
      "model_index.json", "scheduler/scheduler_config.json", "transformer/config.json", "transformer/model.onnx", "transformer/model.onnx_data",
      "transformer/model.onnx.data", "vqvae/config.json", "vqvae_decoder/model.onnx", "text_encoder/model.onnx", "tokenizer/tokenizer.json",
      "tokenizer/tokenizer_config.json", "learned_classifier_free_sampling_embeddings/config.json",
      "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors",
    ]);
  });
});

describe("countedBody: a download body must have its declared size", () => {
  /** The chunks, one a pull, then the end (or the error). */
  const stream = (chunks: number[], error?: Error) => {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < chunks.length) c.enqueue(new Uint8Array(chunks[i++]));
        else if (error) c.error(error);
        else c.close();
      },
    });
  };
  const drain = async (s: ReadableStream<Uint8Array>) => {
    let n = 0;
    for await (const chunk of s as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
    return n;
  };

  it("passes an exact body through, reporting bytes; a short, long or broken one is an error", async () => {
    const seen: number[] = [];
    expect(await drain(countedBody(stream([3, 4]), 7, "x", (n) => seen.push(n)))).toBe(7);
    expect(seen).toEqual([3, 7]);
    await expect(drain(countedBody(stream([3]), 7, "org/m: downloading f", () => {}))).rejects.toThrow("org/m: downloading f: expected 7 bytes, got 3 (the body ended early)");
    await expect(drain(countedBody(stream([5, 5]), 7, "org/m: downloading f", () => {}))).rejects.toThrow("org/m: downloading f: expected 7 bytes, got more (10 so far)");
    await expect(drain(countedBody(stream([2], new Error("terminated")), 7, "org/m: downloading f", () => {}))).rejects.toThrow(
      "org/m: downloading f: the connection broke after 2 of 7 bytes (terminated)",
    );
  });

  it("errors at once when the signal aborts, though the source never settles", async () => {
    const controller = new AbortController();
    const never = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    const pending = drain(countedBody(never, 7, "x", () => {}, controller.signal));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("a Hub id through the core entry (no Cache Storage in Node.js)", () => {
  let server: HubServer;
  const MAIN = "4".repeat(40);
  const TINY = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
  beforeAll(async () => {
    server = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: readFolder(TINY) }, refs: { main: MAIN } } } });
  });
  afterAll(() => server.stop());

  it("loads org/name with fetch, keeping the files for the one load", async () => {
    const events: number[] = [];
    const pipe = await VQDiffusionPipeline.fromPretrained("org/tiny", { ort: ort as unknown as OrtModule, hubUrl: server.url, onProgress: (e) => events.push(e.overall.loaded) });
    expect(pipe.config.numVecClasses).toBeGreaterThan(2);
    expect(events.at(-1)).toBe(Object.entries(readFolder(TINY)).filter(([p]) => p !== "cases.json").reduce((s, [, b]) => s + b.length, 0));
    expect(server.downloads("transformer/model.onnx")).toBe(1);
    expect(server.downloads("cases.json")).toBe(0);
    await pipe.release();
    await expect(VQDiffusionPipeline.fromPretrained("org/ti--ny", { ort: ort as unknown as OrtModule, hubUrl: server.url })).rejects.toThrow(/^baseUrlOrModelId: expected a Hub model id org\/name/);
  });
});
