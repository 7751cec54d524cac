/**
 * ONNX components whose weights live in external data files (test/fixtures/external-data, written by
 * tools/fixtures/make_external_data.py from tiny-a's components): loaded from the model folder only,
 * in the core (fetch) and in Node (disk), giving tiny-a's outputs; every bad data file refused with
 * an Error naming the component and the file.
 */
import { readFileSync } from "node:fs";
import { symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionPipeline } from "../src/index.js";
import { directorySource, VQDiffusionPipeline as NodePipeline } from "../src/node.js";
import type { ModelFileSource } from "../src/files/modelFileSource.js";
import { externalTensors } from "../src/formats/onnxExternalTensors.js";
import { locateExternalData, readExternalData } from "../src/pipeline/onnxExternalData.js";
import type { OrtModule } from "../src/pipeline/onnxComponent.js";
import { diskFolder, externalDataFiles, memoryFolder, replaceAscii, TINY_A } from "./helpers/modelFolders.js";

const ORT = ort as unknown as OrtModule;
const EXT = externalDataFiles();
const T = "transformer/model.onnx";

/** A few guided steps and a decode: what two loads of the same weights must agree on. */
async function outputs(pipe: VQDiffusionPipeline) {
  const { tokens, images } = await pipe.generate({
    promptEmbeds: { data: Float32Array.from({ length: 8 * 32 }, (_, i) => Math.sin(i)), dims: [1, 8, 32] },
    numInferenceSteps: 5,
    numImagesPerPrompt: 2,
    generator: new TorchGenerator().manualSeed(7),
  });
  return { tokens: [...tokens.data], pixels: images.map((im) => [...im.data]) };
}

async function loadError(changes: Record<string, Uint8Array | null>): Promise<string> {
  try {
    await VQDiffusionPipeline.fromSource(memoryFolder({ ...EXT, ...changes }), ORT);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the folder to be rejected");
}

describe("external data: loading", async () => {
  const reference = await outputs(await VQDiffusionPipeline.fromSource(memoryFolder({}), ORT));

  it("lists the tensors the fixture keeps outside (locations as the model records them)", () => {
    const t = externalTensors(EXT[T], T);
    const d = externalTensors(EXT["vqvae_decoder/model.onnx"], "vqvae_decoder/model.onnx");
    expect([t.length, d.length]).toEqual([30, 23]);
    expect(new Set(t.map((x) => x.location))).toEqual(new Set(["model.onnx.data"]));
    expect(new Set(d.map((x) => x.location))).toEqual(new Set(["weights/decoder.bin"]));
    expect(Math.max(...t.map((x) => x.offset + x.length))).toBe(EXT["transformer/model.onnx.data"].length);
    expect(Math.max(...d.map((x) => x.offset + x.length))).toBe(EXT["vqvae_decoder/weights/decoder.bin"].length);
    expect(externalTensors(new Uint8Array(readFileSync(TINY_A + T)), T)).toEqual([]);
  });

  it("finds external tensors wherever a model keeps them: initializers, a Constant's value, an If branch's initializers", async () => {
    const nested = new URL("./fixtures/external-data/nested/", import.meta.url).pathname;
    const x = [[1, 2, 3, 4, 5, 6, 7, 8], [-1, -2, -3, -4, -5, -6, -7, -8]];
    const run = async (s: ort.InferenceSession) =>
      Promise.all(x.map(async (v) => [...((await s.run({ x: new ort.Tensor("float32", Float32Array.from(v), [1, 8]) })).y.data as Float32Array)]));
    const model = new Uint8Array(readFileSync(nested + "model.onnx"));
    const found = externalTensors(model, "nested/model.onnx");
    expect(found.map((t) => t.tensor).sort()).toEqual(["c_value", "else_w", "then_w", "w", "zero"]);
    expect(found.every((t) => t.location === "nested.data")).toBe(true);
    // Every file the scan finds is checked; onnxruntime, opening the model by path (the Node route), computes what the inline model computes.
    const disk = directorySource(nested);
    expect((await locateExternalData(disk, "model.onnx", model)).map((p) => [p.path, p.end])).toEqual([["nested.data", 356]]);
    const inline = await run(await ort.InferenceSession.create(nested + "model.inline.onnx"));
    expect(await run(await ort.InferenceSession.create((await disk.locate!("model.onnx", { maxBytes: 1e6 }))!.path))).toEqual(inline);
    // In memory (the core's route; onnxruntime 1.30 takes a subgraph's tensors from files only, so without the If).
    const flat = new Uint8Array(readFileSync(nested + "flat.onnx"));
    expect(externalTensors(flat, "flat.onnx").map((t) => t.tensor).sort()).toEqual(["c_value", "w"]);
    const externalData = await readExternalData(memoryFolder({}, nested), "flat.onnx", flat);
    expect(await run(await ort.InferenceSession.create(flat, { externalData }))).toEqual(await run(await ort.InferenceSession.create(nested + "flat.inline.onnx")));
  });

  it("core, from a source: the same outputs as the folder with weights inside the models", async () => {
    const source = memoryFolder(EXT);
    expect(await outputs(await VQDiffusionPipeline.fromSource(source, ORT))).toEqual(reference);
    expect(source.reads).toContain("transformer/model.onnx.data");
    expect(source.reads).toContain("vqvae_decoder/weights/decoder.bin");
  });

  it("core with onnxruntime-web (WASM, as in browsers): externalData in memory gives what the weights inside the models give", async () => {
    const web = (await import("onnxruntime-web")) as unknown as OrtModule & { env: { wasm: { numThreads: number } } };
    web.env.wasm.numThreads = 1;
    const inside = await outputs(await VQDiffusionPipeline.fromSource(memoryFolder({}), web));
    expect(await outputs(await VQDiffusionPipeline.fromSource(memoryFolder(EXT), web))).toEqual(inside);
  });

  it("core, fromPretrained(url, { ort, fetch }): the data files are fetched beside their models", async () => {
    const urls: string[] = [];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      const path = url.slice("https://example.test/m/".length);
      const bytes = EXT[path] ?? (await memoryFolder({}).read(path, { maxBytes: 2 ** 31 }));
      return bytes === null ? new Response(null, { status: 404 }) : new Response(bytes as Uint8Array<ArrayBuffer>);
    }) as typeof fetch;
    const pipe = await VQDiffusionPipeline.fromPretrained("https://example.test/m", { ort: ORT, fetch: fetchFn });
    expect(await outputs(pipe)).toEqual(reference);
    expect(urls).toContain("https://example.test/m/transformer/model.onnx.data");
    expect(urls).toContain("https://example.test/m/vqvae_decoder/weights/decoder.bin");
    expect(urls.every((u) => u.startsWith("https://example.test/m/"))).toBe(true);
  });

  it("vq-diffusion/node, from disk: the same outputs; the data files checked in place and mapped by onnxruntime, not read into JavaScript", async () => {
    const dir = await diskFolder(EXT);
    expect(await outputs(await NodePipeline.fromPretrained(dir))).toEqual(reference);
    const disk = directorySource(dir);
    const reads: string[] = [];
    const located: string[] = [];
    const source: ModelFileSource = {
      location: disk.location,
      read: (path, o) => (reads.push(path), disk.read(path, o)),
      locate: (path, o) => (located.push(path), disk.locate!(path, o)),
    };
    expect(await outputs(await VQDiffusionPipeline.fromSource(source, ORT))).toEqual(reference);
    expect(reads.filter((p) => !p.endsWith(".json") && !p.endsWith(".safetensors"))).toEqual([T, "vqvae_decoder/model.onnx"]);
    expect(located).toEqual(["transformer/model.onnx.data", T, "vqvae_decoder/weights/decoder.bin", "vqvae_decoder/model.onnx"]);
  });
});

describe("external data: bad files, each named with its component", () => {
  const data = EXT["transformer/model.onnx.data"];
  it("a missing data file (never looked for elsewhere, e.g. the working directory)", async () => {
    expect(await loadError({ "transformer/model.onnx.data": null })).toBe(
      "transformer/model.onnx: expected its external data file transformer/model.onnx.data beside it in the model folder memory, got no such file",
    );
    expect(await loadError({ "vqvae_decoder/weights/decoder.bin": null })).toBe(
      "vqvae_decoder/model.onnx: expected its external data file vqvae_decoder/weights/decoder.bin beside it in the model folder memory, got no such file",
    );
  });
  it("a data file shorter than its tensors' offsets and lengths, or longer", async () => {
    expect(await loadError({ "transformer/model.onnx.data": data.subarray(0, data.length - 1) })).toMatch(
      new RegExp(`^transformer/model.onnx: expected its external data file transformer/model.onnx.data to hold at least ${data.length} bytes \\(tensor "[^"]+" ends there\\), got ${data.length - 1} bytes$`),
    );
    const longer = new Uint8Array(data.length + 4);
    longer.set(data);
    expect(await loadError({ "transformer/model.onnx.data": longer })).toBe(
      `transformer/model.onnx: external data transformer/model.onnx.data: expected a file of at most ${data.length} bytes, got ${data.length + 4} bytes`,
    );
  });
  it.each([
    ["leaves the folder with ..", "../../../x.data"],
    ["is absolute", "/tmp/model.data"],
    ["has a backslash", "sub\\l.onnx.data"],
    ["has a NUL", "model.onnx.dat\0"],
    ["has a colon (a drive or a URL)", "C:/model.o.data"],
  ])("a location that %s", async (_, location) => {
    const reads: string[] = [];
    const source = memoryFolder({ ...EXT, [T]: replaceAscii(EXT[T], "model.onnx.data", location) });
    const read = source.read;
    source.read = (p, o) => (reads.push(p), read(p, o));
    const message = await VQDiffusionPipeline.fromSource(source, ORT).then(() => "loaded", (e: Error) => e.message);
    expect(message).toMatch(/^transformer\/model.onnx: tensor "[^"]+": external data location: expected a path inside the model folder \(/);
    expect(message.endsWith(`, no "..", ".", empty segment, backslash, colon or NUL), got ${JSON.stringify(location)}`)).toBe(true);
    expect(reads.filter((p) => p.endsWith(".data"))).toEqual([]); // refused before anything is read for it
  });
  it("on disk (checked in place): a missing, short or long data file", async () => {
    const missing = await diskFolder({ ...EXT, "transformer/model.onnx.data": null });
    await expect(NodePipeline.fromPretrained(missing)).rejects.toThrow(
      new Error(`transformer/model.onnx: expected its external data file transformer/model.onnx.data beside it in the model folder ${missing}, got no such file`),
    );
    const short = await diskFolder({ ...EXT, "transformer/model.onnx.data": data.subarray(0, 100) });
    await expect(NodePipeline.fromPretrained(short)).rejects.toThrow(
      /^transformer\/model.onnx: expected its external data file transformer\/model.onnx.data to hold at least 72768 bytes \(tensor "[^"]+" ends there\), got 100 bytes$/,
    );
    const long = await diskFolder({ ...EXT, "vqvae_decoder/weights/decoder.bin": new Uint8Array(EXT["vqvae_decoder/weights/decoder.bin"].length + 1) });
    await expect(NodePipeline.fromPretrained(long)).rejects.toThrow(
      new Error(`vqvae_decoder/model.onnx: external data vqvae_decoder/weights/decoder.bin: expected a file of at most 146944 bytes, got 146945 bytes`),
    );
  });
  it("a data file that is a symlink out of the folder (Node)", async () => {
    const dir = await diskFolder({ ...EXT, "transformer/model.onnx.data": null });
    const outside = join(dir, "..", `outside-${process.pid}.data`);
    await writeFile(outside, data);
    await symlink(outside, join(dir, "transformer/model.onnx.data"));
    await expect(NodePipeline.fromPretrained(dir)).rejects.toThrow(
      new Error(`transformer/model.onnx: external data transformer/model.onnx.data: expected a file inside the model folder ${dir}, got a link to ${outside}`),
    );
  });
  it("an external tensor without a location, and a malformed model", async () => {
    expect(await loadError({ [T]: replaceAscii(EXT[T], "location", "locatiox") })).toMatch(/^transformer\/model.onnx: tensor "[^"]+": expected an external_data location, got none$/);
    expect(await loadError({ [T]: EXT[T].subarray(0, 1000) })).toMatch(/^transformer\/model.onnx: expected an ONNX model onnxruntime can load, got a malformed protobuf message \(/);
  });
});
