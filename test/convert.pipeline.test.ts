/**
 * The conversion loop (src/convert/convertPipeline.ts) and its Node.js folder (src/node/convertFolder.ts):
 * which files are written and from which weights (safetensors before .bin, the variant's files, never
 * both), the refusals before anything is written, and a full disk or an abort leaving nothing behind.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { checkpointMetadataFiles, chooseCheckpointWeights, chooseWeightsFile, isCheckpointListing, type WeightsComponent } from "../src/convert/checkpointFiles.js";
import { convertPipeline, type ModelFolderSink } from "../src/convert/convertPipeline.js";
import type { HubProgressEvent } from "../src/files/hub/progress.js";
import { convertIntoFolder, listCheckpointFolder } from "../src/node/convertFolder.js";
import { directorySource } from "../src/node/directorySource.js";
import { readSafetensors } from "../src/index.js";
import { safetensorsBytes } from "./helpers/safetensorsWriter.js";
import { copyCheckpoint, D_SAFETENSORS, filesUnder, memorySink, removeTemporaryFolders, temporaryFolder } from "./helpers/convertFixtures.js";

afterAll(removeTemporaryFolders);

const { onnx } = onnxProto;

const listing = (paths: string[]) => paths.map((path) => ({ path, size: 1 }));

describe("weights file choice", () => {
  const all = listing([
    "transformer/config.json",
    "transformer/diffusion_pytorch_model.bin",
    "transformer/diffusion_pytorch_model.safetensors",
    "transformer/diffusion_pytorch_model.fp16.bin",
    "text_encoder/pytorch_model.bin",
    "text_encoder/model.fp16.safetensors",
  ]);

  it("takes safetensors before .bin, the variant's files when asked, and one file per component", () => {
    expect(chooseWeightsFile(all, { folder: "transformer", library: "diffusers" }).path).toBe("transformer/diffusion_pytorch_model.safetensors");
    expect(chooseWeightsFile(all, { folder: "transformer", library: "diffusers" }, "fp16").path).toBe("transformer/diffusion_pytorch_model.fp16.bin");
    expect(chooseWeightsFile(all, { folder: "text_encoder", library: "transformers" }).path).toBe("text_encoder/pytorch_model.bin");
    expect(chooseWeightsFile(all, { folder: "text_encoder", library: "transformers" }, "fp16").path).toBe("text_encoder/model.fp16.safetensors");
  });

  it("a missing variant is an error listing what the folder holds", () => {
    expect(() => chooseWeightsFile(all, { folder: "transformer", library: "diffusers" }, "bf16")).toThrow(
      'transformer: expected diffusion_pytorch_model.bf16.safetensors or diffusion_pytorch_model.bf16.bin (variant "bf16"), got only diffusion_pytorch_model.bin, diffusion_pytorch_model.fp16.bin, diffusion_pytorch_model.safetensors',
    );
    expect(() => chooseWeightsFile(listing(["vqvae/config.json", "vqvae/diffusion_pytorch_model.safetensors.index.json"]), { folder: "vqvae", library: "diffusers" })).toThrow(
      "vqvae: expected diffusion_pytorch_model.safetensors or diffusion_pytorch_model.bin, got only diffusion_pytorch_model.safetensors.index.json (a sharded checkpoint, which the converter does not read yet)",
    );
  });

  it("with a variant, a component without its file takes the plain one, with a warning (diffusers' rule); a variant no component has is an error", () => {
    const warnings: string[] = [];
    const chosen = chooseCheckpointWeights(
      all,
      [{ folder: "text_encoder", library: "transformers" }, { folder: "transformer", library: "diffusers" }] satisfies WeightsComponent[],
      "fp16",
      (m) => warnings.push(m),
    );
    expect([...chosen.values()].map((f) => f.path)).toEqual(["text_encoder/model.fp16.safetensors", "transformer/diffusion_pytorch_model.fp16.bin"]);
    expect(warnings).toEqual([]);
    const mixed = chooseCheckpointWeights(listing(["a/diffusion_pytorch_model.fp16.bin", "b/diffusion_pytorch_model.bin"]), [{ folder: "a", library: "diffusers" }, { folder: "b", library: "diffusers" }], "fp16", (m) => warnings.push(m));
    expect([...mixed.values()].map((f) => f.path)).toEqual(["a/diffusion_pytorch_model.fp16.bin", "b/diffusion_pytorch_model.bin"]);
    expect(warnings).toEqual(['variant "fp16": b has no weights file of the variant; the plain weights are converted instead (as diffusers loads a mixture of variant and plain files)']);
    expect(() => chooseCheckpointWeights(all, [{ folder: "transformer", library: "diffusers" }], "bf16")).toThrow(
      'variant: expected weights files of the variant "bf16" (such as transformer/diffusion_pytorch_model.bf16.safetensors) in at least one component, got none: the weights files are ' +
        "transformer/diffusion_pytorch_model.bin, transformer/diffusion_pytorch_model.fp16.bin, transformer/diffusion_pytorch_model.safetensors",
    );
  });

  it("a checkpoint's metadata, without weights; an exported folder is not a checkpoint", () => {
    const d = [...all, ...listing(["model_index.json", "vqvae/config.json", "vqvae/diffusion_pytorch_model.bin", "README.md", "text_encoder/config.json"])];
    expect(isCheckpointListing(d)).toBe(true);
    expect(checkpointMetadataFiles(d).map((f) => f.path).sort()).toEqual(["model_index.json", "text_encoder/config.json", "transformer/config.json", "vqvae/config.json"]);
    expect(() => checkpointMetadataFiles(d, "bf16")).toThrow(/^variant: expected weights files of the variant "bf16"/);
    expect(checkpointMetadataFiles(d, "fp16").length).toBe(4); // vqvae has no fp16 file: its plain one will do
    expect(isCheckpointListing([...d, { path: "transformer/model.onnx", size: 1 }])).toBe(false);
  });
});

describe("convertPipeline (in memory)", () => {
  it("writes the model folder layout from the plain safetensors files, with progress", async () => {
    const source = directorySource(D_SAFETENSORS);
    const { sink, files } = memorySink();
    const events: HubProgressEvent[] = [];
    const opened: string[] = [];
    const spied = { ...source, open: (p: string, o: { maxBytes: number }) => (opened.push(p), source.open!(p, o)) };
    const written = await convertPipeline(spied, await listCheckpointFolder(D_SAFETENSORS), sink, { onProgress: (e) => events.push(e) });
    expect(opened.sort()).toEqual(["text_encoder/model.safetensors", "transformer/diffusion_pytorch_model.safetensors", "vqvae/diffusion_pytorch_model.safetensors"]);
    expect(written.map((w) => w.path).sort()).toEqual(
      [
        "learned_classifier_free_sampling_embeddings/config.json",
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.onnx",
        "text_encoder/model.onnx.data",
        "tokenizer/tokenizer.json",
        "tokenizer/tokenizer_config.json",
        "transformer/config.json",
        "transformer/model.onnx",
        "transformer/model.onnx.data",
        "vqvae/config.json",
        "vqvae_decoder/model.onnx",
        "vqvae_decoder/model.onnx.data",
      ].sort(),
    );
    for (const w of written) expect(files.get(w.path)?.length, w.path).toBe(w.bytes);
    for (const copied of ["model_index.json", "scheduler/scheduler_config.json", "transformer/config.json", "tokenizer/tokenizer.json"]) {
      expect(files.get(copied), copied).toEqual(new Uint8Array(readFileSync(join(D_SAFETENSORS, copied))));
    }
    const converting = events.filter((e) => e.status === "convert");
    expect(new Set(converting.map((e) => e.file))).toEqual(new Set(["text_encoder/model.onnx.data", "transformer/model.onnx.data", "vqvae_decoder/model.onnx.data"]));
    const last = converting.at(-1)!;
    expect(last.overall.loaded).toBe(last.overall.total);
    for (const e of converting) expect(e.loaded).toBeLessThanOrEqual(e.total);
  });

  it("reads the fp16 variant's files when asked", async () => {
    const source = directorySource(D_SAFETENSORS);
    const opened: string[] = [];
    const spied = { ...source, open: (p: string, o: { maxBytes: number }) => (opened.push(p), source.open!(p, o)) };
    await convertPipeline(spied, await listCheckpointFolder(D_SAFETENSORS), memorySink().sink, { variant: "fp16" });
    expect(opened.sort()).toEqual(["text_encoder/model.fp16.safetensors", "transformer/diffusion_pytorch_model.fp16.safetensors", "vqvae/diffusion_pytorch_model.fp16.safetensors"]);
  });

  it("a component without the variant's file converts its plain file, with a warning", async () => {
    const dir = copyCheckpoint(D_SAFETENSORS);
    rmSync(join(dir, "vqvae/diffusion_pytorch_model.fp16.safetensors"));
    const source = directorySource(dir);
    const opened: string[] = [];
    const warnings: string[] = [];
    const spied = { ...source, open: (p: string, o: { maxBytes: number }) => (opened.push(p), source.open!(p, o)) };
    await convertPipeline(spied, await listCheckpointFolder(dir), memorySink().sink, { variant: "fp16", onWarning: (m) => warnings.push(m) });
    expect(opened.sort()).toEqual(["text_encoder/model.fp16.safetensors", "transformer/diffusion_pytorch_model.fp16.safetensors", "vqvae/diffusion_pytorch_model.safetensors"]);
    expect(warnings).toEqual(['variant "fp16": vqvae has no weights file of the variant; the plain weights are converted instead (as diffusers loads a mixture of variant and plain files)']);
  });

  it("refuses bad options, a missing variant and an exported folder before writing anything", async () => {
    const source = directorySource(D_SAFETENSORS);
    const files = await listCheckpointFolder(D_SAFETENSORS);
    const { sink, files: out } = memorySink();
    await expect(convertPipeline(source, files, sink, { dtype: "int8" as "fp32" })).rejects.toThrow('dtype: expected "fp32" or "fp16", got "int8"');
    await expect(convertPipeline(source, files, sink, { variant: "../x" })).rejects.toThrow('variant: expected a variant name such as "fp16" (letters, digits, "_" and "-", at most 64), got "../x"');
    await expect(convertPipeline(source, files, sink, { variant: "ema" })).rejects.toThrow(
      'variant: expected weights files of the variant "ema" (such as text_encoder/model.ema.safetensors) in at least one component, got none: the weights files are ' +
        "text_encoder/model.fp16.safetensors, text_encoder/model.safetensors, transformer/diffusion_pytorch_model.fp16.safetensors, transformer/diffusion_pytorch_model.safetensors, " +
        "vqvae/diffusion_pytorch_model.fp16.safetensors, vqvae/diffusion_pytorch_model.safetensors",
    );
    await expect(convertPipeline(source, [...files, { path: "transformer/model.onnx", size: 1, mtimeMs: 0 }], sink)).rejects.toThrow(
      `${source.location}: expected a diffusers checkpoint (transformer/config.json and its weights, no transformer/model.onnx), got a model folder already in ONNX (nothing to convert)`,
    );
    expect(out.size).toBe(0);
  });

  it('dtype "fp16" stores the float weights as float16 (about half the data bytes) behind Casts to float32', async () => {
    const files = await listCheckpointFolder(D_SAFETENSORS);
    const fp32 = await convertPipeline(directorySource(D_SAFETENSORS), files, memorySink().sink);
    const { sink, files: out } = memorySink();
    const fp16 = await convertPipeline(directorySource(D_SAFETENSORS), files, sink, { dtype: "fp16" });
    const data = (w: typeof fp32, path: string) => w.find((f) => f.path === path)!.bytes;
    for (const path of ["text_encoder/model.onnx.data", "transformer/model.onnx.data"]) expect(data(fp16, path), path).toBeLessThan(data(fp32, path));
    // Each weight is 4096-aligned in the data file: half the bytes, give or take the padding (most of D's small text encoder's).
    expect(data(fp16, "vqvae_decoder/model.onnx.data")).toBeLessThan(0.6 * data(fp32, "vqvae_decoder/model.onnx.data"));
    const model = onnx.ModelProto.decode(out.get("vqvae_decoder/model.onnx")!);
    const halves = model.graph!.initializer!.filter((t) => t.dataType === 10); // FLOAT16
    expect(halves.length).toBeGreaterThan(0);
    for (const t of halves) expect(model.graph!.node!.find((n) => n.input![0] === t.name), t.name!).toMatchObject({ opType: "Cast" });
  });

  it("learnable null embeddings are written as F32 safetensors holding the checkpoint's tensor; a wrong shape is refused", async () => {
    const dir = copyCheckpoint(D_SAFETENSORS);
    const folder = join(dir, "learned_classifier_free_sampling_embeddings");
    writeFileSync(join(folder, "config.json"), JSON.stringify({ _class_name: "LearnedClassifierFreeSamplingEmbeddings", learnable: true, hidden_size: 24, length: 12 }));
    const data = Float32Array.from({ length: 12 * 24 }, (_, i) => Math.sin(i));
    writeFileSync(join(folder, "diffusion_pytorch_model.safetensors"), safetensorsBytes({ embeddings: { dims: [12, 24], data } }));
    const { sink, files } = memorySink();
    await convertPipeline(directorySource(dir), await listCheckpointFolder(dir), sink);
    const written = readSafetensors(files.get("learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors")!, "embeddings");
    expect([...written.keys()]).toEqual(["embeddings"]);
    expect(written.get("embeddings")!.dims).toEqual([12, 24]);
    expect(written.get("embeddings")!.data).toEqual(data);

    writeFileSync(join(folder, "config.json"), JSON.stringify({ learnable: true, hidden_size: 24, length: 13 }));
    const bad = memorySink();
    await expect(convertPipeline(directorySource(dir), await listCheckpointFolder(dir), bad.sink)).rejects.toThrow(
      'learned_classifier_free_sampling_embeddings/diffusion_pytorch_model.safetensors: tensor "embeddings": expected shape [13, 24] (from the component\'s config.json), got [12, 24]',
    );
    expect(bad.files.size).toBe(0);
  });

  it("refuses a tensor whose shape disagrees with config.json before writing anything", async () => {
    const dir = copyCheckpoint(D_SAFETENSORS);
    const config = JSON.parse(readFileSync(join(dir, "vqvae/config.json"), "utf8"));
    config.num_vq_embeddings += 1;
    writeFileSync(join(dir, "vqvae/config.json"), JSON.stringify(config));
    const { sink, files } = memorySink();
    await expect(convertPipeline(directorySource(dir), await listCheckpointFolder(dir), sink)).rejects.toThrow(/vqvae\/diffusion_pytorch_model\.safetensors: tensor "quantize\.embedding\.weight": expected shape/);
    expect(files.size).toBe(0);
  });
});

describe("convertIntoFolder (atomic on disk)", () => {
  it("writes into a temporary folder and renames it into an absent or empty destination", async () => {
    const parent = temporaryFolder();
    const out = join(parent, "out");
    const written = await convertIntoFolder(directorySource(D_SAFETENSORS), await listCheckpointFolder(D_SAFETENSORS), out, "replace-empty");
    expect(filesUnder(out)).toEqual(written.map((w) => w.path).sort());
    expect(filesUnder(parent).every((f) => f.startsWith("out/"))).toBe(true);
  });

  it("removes the temporary folders of conversions whose process is gone, and keeps those of a running one", async () => {
    const parent = temporaryFolder();
    const out = join(parent, "out");
    const dead = join(parent, ".out.incomplete-999999999-0a0b0c");
    const alive = join(parent, ".out.incomplete-1-0a0b0c"); // pid 1 is always running
    for (const dir of [dead, alive]) {
      mkdirSync(dir);
      writeFileSync(join(dir, "model_index.json"), "{}");
    }
    await convertIntoFolder(directorySource(D_SAFETENSORS), await listCheckpointFolder(D_SAFETENSORS), out, "replace-empty");
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(alive)).toBe(true);
  });

  it("a disk that fills midway (ENOSPC) leaves nothing: no destination, no temporary folder", async () => {
    const parent = temporaryFolder();
    const out = join(parent, "out");
    let bytes = 0;
    const full = (sink: ModelFolderSink): ModelFolderSink => ({
      writeFile: (p, b) => sink.writeFile(p, b),
      async openWriter(p) {
        const w = await sink.openWriter(p);
        return {
          async write(chunk) {
            bytes += chunk.length;
            if (bytes > 100_000) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
            await w.write(chunk);
          },
          close: () => w.close(),
        };
      },
    });
    await expect(
      convertIntoFolder(directorySource(D_SAFETENSORS), await listCheckpointFolder(D_SAFETENSORS), out, "replace-empty", { wrapSink: full }),
    ).rejects.toThrow("ENOSPC: no space left on device, write");
    expect(bytes).toBeGreaterThan(100_000);
    expect(filesUnder(parent)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it("an abort midway leaves nothing, and rejects with the signal's reason", async () => {
    const parent = temporaryFolder();
    const out = join(parent, "out");
    const controller = new AbortController();
    const reason = new Error("stop");
    const promise = convertIntoFolder(directorySource(D_SAFETENSORS), await listCheckpointFolder(D_SAFETENSORS), out, "replace-empty", {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.file === "transformer/model.onnx.data") controller.abort(reason);
      },
    });
    await expect(promise).rejects.toBe(reason);
    expect(filesUnder(parent)).toEqual([]);
  });

  it("refuses a destination that filled while converting, and leaves it as it was", async () => {
    const parent = temporaryFolder();
    const out = join(parent, "out");
    const promise = convertIntoFolder(directorySource(D_SAFETENSORS), await listCheckpointFolder(D_SAFETENSORS), out, "replace-empty", {
      onProgress: () => {
        if (!existsSync(join(out, "mine.txt"))) {
          mkdirSync(out, { recursive: true });
          writeFileSync(join(out, "mine.txt"), "x");
        }
      },
    });
    await expect(promise).rejects.toThrow(`${out}: expected an empty folder (or none) to write the model folder into, got a folder with files (written there while converting)`);
    expect(filesUnder(parent)).toEqual(["out/mine.txt"]);
  });
});
