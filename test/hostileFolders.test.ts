/**
 * Model folders from strangers: nothing a folder names reaches outside it (component files, external
 * data locations, symbolic links), the sizes it declares are bounded before anything is allocated,
 * and loads share nothing mutable. Each hostile folder gives an Error naming the file, and every path
 * read (recorded by wrapping the folder's source) stays inside the folder.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, realpath, rename, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { PIPELINE_LIMITS, TorchGenerator, urlSource, VQDiffusionPipeline } from "../src/index.js";
import { directorySource } from "../src/node.js";
import { checkFolderPath, type ModelFileSource } from "../src/files/modelFileSource.js";
import type { OrtModule } from "../src/pipeline/onnxComponent.js";
import { safetensorsBytes } from "./helpers/safetensorsWriter.js";
import { diskFolder, externalDataFiles, memoryFolder, replaceAscii, TINY_A } from "./helpers/modelFolders.js";

const ORT = ort as unknown as OrtModule;
const text = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const json = async (path: string) => JSON.parse(await readFile(TINY_A + path, "utf8")) as Record<string, unknown>;

/** A file outside every test folder, which no load may read. */
async function outsideFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vqd-outside-"));
  const file = join(dir, "secret.json");
  await writeFile(file, JSON.stringify({ secret: true }));
  return file;
}

/** Loads `dir` through a recording source; returns the error message and every path read (as resolved on disk). */
async function load(dir: string): Promise<{ message: string; reads: string[] }> {
  const disk = directorySource(dir);
  const reads: string[] = [];
  const source: ModelFileSource = {
    location: disk.location,
    read: async (path, options) => {
      checkFolderPath(path, "recorded path"); // what reached the source was a path inside the folder
      reads.push(path);
      return disk.read(path, options);
    },
  };
  const message = await VQDiffusionPipeline.fromSource(source, ORT).then(
    () => "loaded",
    (e: Error) => e.message,
  );
  return { message, reads };
}

describe("hostile model folders (on disk)", () => {
  it("model_index.json, a config, or a whole component folder as a symlink out of the folder", async () => {
    const outside = await outsideFile();
    for (const path of ["model_index.json", "scheduler/scheduler_config.json", "transformer/config.json"]) {
      const dir = await diskFolder({ [path]: null });
      await symlink(outside, join(dir, path));
      const { message, reads } = await load(dir);
      expect(message).toBe(`${path}: expected a file inside the model folder ${dir}, got a link to ${await realpath(outside)}`);
      expect(reads[reads.length - 1]).toBe(path);
    }
    const dir = await diskFolder({});
    await rm(join(dir, "vqvae"), { recursive: true });
    await mkdir(join(outside, "..", "vqvae"));
    await writeFile(join(outside, "..", "vqvae", "config.json"), "{}");
    await symlink(join(outside, "..", "vqvae"), join(dir, "vqvae"));
    expect((await load(dir)).message).toBe(`vqvae/config.json: expected a file inside the model folder ${dir}, got a link to ${await realpath(join(outside, "..", "vqvae", "config.json"))}`);
  });

  it("a symlink that stays inside the folder is followed", async () => {
    const dir = await diskFolder({ "vqvae/config.json": null });
    await writeFile(join(dir, "vqvae-config.json"), await readFile(TINY_A + "vqvae/config.json"));
    await symlink(join(dir, "vqvae-config.json"), join(dir, "vqvae/config.json"));
    expect((await load(dir)).message).toBe("loaded");
  });

  it("a Hugging Face cache snapshot (files linked to ../../blobs) loads; a link elsewhere does not", async () => {
    const hub = join(await mkdtemp(join(tmpdir(), "vqd-hub-")), "models--org--tiny");
    const snapshot = join(hub, "snapshots", "abc123");
    await mkdir(join(hub, "blobs"), { recursive: true });
    await mkdir(join(hub, "snapshots"));
    await rename(await diskFolder({}), snapshot);
    await writeFile(join(hub, "blobs", "0123"), await readFile(TINY_A + "vqvae/config.json"));
    await rm(join(snapshot, "vqvae/config.json"));
    await symlink("../../../blobs/0123", join(snapshot, "vqvae/config.json"));
    expect((await load(snapshot)).message).toBe("loaded");
    const outside = await outsideFile();
    await rm(join(snapshot, "transformer/config.json"));
    await symlink(outside, join(snapshot, "transformer/config.json"));
    expect((await load(snapshot)).message).toMatch(/^transformer\/config.json: expected a file inside the model folder .*, got a link to /);
  });

  it("sizes are bounded before reading: a config over maxJsonBytes, a safetensors file over its bound (sparse files, never read)", async () => {
    const dir = await diskFolder({});
    await truncate(join(dir, "transformer/config.json"), PIPELINE_LIMITS.maxJsonBytes + 1);
    expect((await load(dir)).message).toBe(`transformer/config.json: expected a file of at most ${PIPELINE_LIMITS.maxJsonBytes} bytes, got ${PIPELINE_LIMITS.maxJsonBytes + 1} bytes`);
    const dir2 = await diskFolder({});
    const st = "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors";
    await truncate(join(dir2, st), PIPELINE_LIMITS.maxSafetensorsBytes + 1);
    expect((await load(dir2)).message).toBe(`${st}: expected a file of at most ${PIPELINE_LIMITS.maxSafetensorsBytes} bytes, got ${PIPELINE_LIMITS.maxSafetensorsBytes + 1} bytes`);
  });

  it("a component file that is a folder or a FIFO (which would block a reader forever)", async () => {
    const dir = await diskFolder({ "transformer/model.onnx": null });
    await mkdir(join(dir, "transformer/model.onnx"));
    expect((await load(dir)).message).toBe(`transformer/model.onnx: expected a regular file, got a folder (${join(dir, "transformer/model.onnx")})`);
    const dir2 = await diskFolder({ "vqvae_decoder/model.onnx": null });
    execFileSync("mkfifo", [join(dir2, "vqvae_decoder/model.onnx")]);
    expect((await load(dir2)).message).toBe(`vqvae_decoder/model.onnx: expected a regular file, got a special file (${join(dir2, "vqvae_decoder/model.onnx")})`);
  });

  it("external data whose location leaves the folder, or is a link out of it", async () => {
    const ext = externalDataFiles();
    const dir = await diskFolder({ ...ext, "transformer/model.onnx": replaceAscii(ext["transformer/model.onnx"], "model.onnx.data", "../../../x.data") });
    const { message, reads } = await load(dir);
    expect(message).toMatch(/^transformer\/model.onnx: tensor "[^"]+": external data location: expected a path inside the model folder .*, got "..\/..\/..\/x.data"$/);
    expect(reads.some((p) => p.endsWith(".data"))).toBe(false);
  });
});

describe("urlSource: a folder served over HTTP", () => {
  const served = (body: Uint8Array, headers: Record<string, string> = {}) => {
    const urls: string[] = [];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      return new Response(body as Uint8Array<ArrayBuffer>, { headers });
    }) as typeof fetch;
    return { source: urlSource("https://example.test/m", fetchFn), urls };
  };
  it("encodes each segment, so a name's ?, # or % stays in the name; refuses paths that leave the folder", async () => {
    const { source, urls } = served(new Uint8Array(3));
    await source.read("transformer/a?b#c%d.data", { maxBytes: 10 });
    expect(urls).toEqual(["https://example.test/m/transformer/a%3Fb%23c%25d.data"]);
    await expect(source.read("../x", { maxBytes: 10 })).rejects.toThrow(/^path: expected a path inside the model folder .*, got "..\/x"$/);
    expect(urls).toHaveLength(1);
  });
  it("refuses a body over maxBytes: by its Content-Length before reading, else while streaming", async () => {
    const { source } = served(new Uint8Array(100), { "content-length": "100" });
    await expect(source.read("a.json", { maxBytes: 10 })).rejects.toThrow(new Error("a.json: expected a file of at most 10 bytes, got 100 bytes"));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(8)); // endless: only the bound stops it
      },
    });
    const endless = urlSource("https://example.test/m", (async () => new Response(stream)) as typeof fetch);
    await expect(endless.read("a.json", { maxBytes: 20 })).rejects.toThrow(new Error("a.json: expected a file of at most 20 bytes, got more"));
    expect([...(await served(Uint8Array.of(1, 2, 3)).source.read("a.json", { maxBytes: 3 }))!]).toEqual([1, 2, 3]);
  });
});

describe("hostile model folders (any source)", () => {
  const error = (changes: Record<string, Uint8Array | null>) =>
    VQDiffusionPipeline.fromSource(memoryFolder(changes), ORT).then(
      () => "loaded",
      (e: Error) => e.message,
    );

  it("declared sizes: K, T, N, L and the null embeddings' shape, bounded before allocation", async () => {
    const s = await json("scheduler/scheduler_config.json");
    const e = await json("learned_classifier_free_sampling_embeddings/config.json");
    expect(await error({ "scheduler/scheduler_config.json": text({ ...s, num_vec_classes: 2 ** 40 }) })).toBe(
      "scheduler/scheduler_config.json: expected key num_vec_classes to be an integer in [2, 65537], got 1099511627776",
    );
    expect(await error({ "learned_classifier_free_sampling_embeddings/config.json": text({ ...e, length: 1e9 }) })).toBe(
      "learned_classifier_free_sampling_embeddings/config.json: expected key length to be an integer in [1, 4096], got 1000000000",
    );
    const st = "learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors";
    const bigShape = safetensorsBytes(
      { embeddings: { dims: [8, 32], data: new Float32Array(256) } },
      { header: { embeddings: { dtype: "F32", shape: [2 ** 26, 2 ** 26], data_offsets: [0, 1024] } } },
    );
    expect(await error({ [st]: bigShape })).toBe(`${st}: tensor "embeddings": expected ${2 ** 54} bytes for F32 shape [67108864, 67108864], got 1024 (data_offsets [0, 1024])`);
  });

  it("component names in model_index.json never become paths: the components' folders are the pipeline's own", async () => {
    const idx = await json("model_index.json");
    const source = memoryFolder({ "model_index.json": text({ ...idx, "../../outside": ["diffusers", "VQModel"], "/etc": ["x", "y"], "a\\b": ["x", "y"] }) });
    await VQDiffusionPipeline.fromSource(source, ORT);
    for (const path of source.reads) expect(checkFolderPath(path, "read")).toBe(path);
    expect(source.reads.filter((p) => p.includes("outside") || p.includes("etc"))).toEqual([]);
  });

  it("model_index.json: [null, null] is an absent component, as diffusers saves one (issue 22 item 8)", async () => {
    const idx = await json("model_index.json");
    // tiny-a has no text encoder: listing it as [null, null] changes nothing.
    expect(await error({ "model_index.json": text({ ...idx, text_encoder: [null, null], tokenizer: [null, null] }) })).toBe("loaded");
    // Without its null embeddings, the folder has no way to the prompt length L.
    expect(await error({ "model_index.json": text({ ...idx, learned_classifier_free_sampling_embeddings: [null, null] }) })).toBe(
      "model_index.json: expected learnable null embeddings or a tokenizer (either gives the prompt length L), got neither",
    );
    expect(await error({ "model_index.json": text({ ...idx, tokenizer: [null, "CLIPTokenizer"] }) })).toBe(
      'model_index.json: expected key tokenizer to be [library, class] (or [null, null]: absent), got [null, "CLIPTokenizer"]',
    );
    expect(await error({ "model_index.json": text({ ...idx, transformer: [null, null] }) })).toBe("model_index.json: expected key transformer to be [library, class], got [null, null]");
  });

  it("scheduler_config.json: unknown keys warned (naming the file) and ignored; a bad value names the file (issue 22 item 12)", async () => {
    const s = await json("scheduler/scheduler_config.json");
    const warnings: string[] = [];
    const pipe = await VQDiffusionPipeline.fromSource(memoryFolder({ "scheduler/scheduler_config.json": text({ ...s, beta_schedule: "linear", clip_sample: false }) }), ORT, undefined, (m) =>
      warnings.push(m),
    );
    expect(pipe.scheduler.config.numVecClasses).toBe(17);
    expect(warnings).toEqual([
      "scheduler/scheduler_config.json: ignoring the keys beta_schedule, clip_sample, as diffusers does: VQDiffusionScheduler takes num_vec_classes, num_train_timesteps, alpha_cum_start, alpha_cum_end, gamma_cum_start, gamma_cum_end",
    ]);
    expect(await error({ "scheduler/scheduler_config.json": text({ ...s, alpha_cum_start: "high" }) })).toBe(
      'scheduler/scheduler_config.json: key alpha_cum_start: expected a number, got "high"',
    );
    expect(await error({ "scheduler/scheduler_config.json": text({ ...s, alpha_cum_start: 2 }) })).toMatch(/^scheduler\/scheduler_config.json: /);
  });

  it("two folders loaded at once, and one folder twice, share nothing mutable", async () => {
    const ext = externalDataFiles();
    const [a, b, c] = await Promise.all([
      VQDiffusionPipeline.fromSource(memoryFolder({}), ORT),
      VQDiffusionPipeline.fromSource(memoryFolder({}), ORT),
      VQDiffusionPipeline.fromSource(memoryFolder(ext), ORT),
    ]);
    const run = (p: VQDiffusionPipeline) =>
      p.generate({ promptEmbeds: { data: new Float32Array(256).fill(0.3), dims: [1, 8, 32] }, numInferenceSteps: 4, generator: new TorchGenerator().manualSeed(2) }).then((o) => [...o.tokens.data]);
    const before = await run(b);
    expect(a.components.nullEmbeddings).not.toBe(b.components.nullEmbeddings);
    expect(a.scheduler).not.toBe(b.scheduler);
    a.components.nullEmbeddings!.fill(0.5);
    a.scheduler.setTimesteps(3, { timestepSpacing: "trailing" });
    expect([...b.scheduler.timesteps]).toHaveLength(100);
    expect(await Promise.all([run(b), run(c)])).toEqual([before, before]);
  });
});
