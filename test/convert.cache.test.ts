/**
 * The conversion cache (src/node/conversionCache.ts): a diffusers checkpoint named to vq-diffusion/node
 * converts once, into $HF_ASSETS_CACHE/vq-diffusion/…, keyed by folder (or repository and commit) and
 * options, and is reused after; two processes converting at once both succeed; an abort leaves
 * nothing. On a loopback Hub (test/helpers/hubServer.mjs): an ONNX repository fetches no weights, a
 * diffusers-only one fetches only the weights of the chosen variant, safetensors before .bin.
 */
import { spawn } from "node:child_process";
import { existsSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubProgressEvent } from "../src/files/hub/progress.js";
import { VQDiffusionScheduler } from "../src/node.js";
import { conversionCacheDir, openConvertedModel } from "../src/node/conversionCache.js";
import { convertIntoFolder, listCheckpointFolder } from "../src/node/convertFolder.js";
import { directorySource } from "../src/node/directorySource.js";
import { copyCheckpoint, D_BIN, D_SAFETENSORS, filesUnder, removeTemporaryFolders, temporaryFolder } from "./helpers/convertFixtures.js";
import { readFolder, startHubServer, type Files, type HubServer } from "./helpers/hubServer.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
const OPTIONS_FOLDER = "dtype=fp32,variant=default,converter=1";
let assets: string;
const savedAssets = process.env.HF_ASSETS_CACHE;
const debug = console.debug;

beforeAll(() => {
  console.debug = () => undefined; // @huggingface/hub logs each download
  assets = temporaryFolder("vqd-assets-");
  process.env.HF_ASSETS_CACHE = assets;
});
afterAll(() => {
  console.debug = debug;
  if (savedAssets === undefined) delete process.env.HF_ASSETS_CACHE;
  else process.env.HF_ASSETS_CACHE = savedAssets;
  removeTemporaryFolders();
});

describe("the cache's place", () => {
  it("is huggingface_hub's assets folder for the library vq-diffusion (HF_ASSETS_CACHE, else HF_HOME/assets, else XDG_CACHE_HOME)", () => {
    expect(conversionCacheDir({ HF_ASSETS_CACHE: "/a" })).toBe("/a/vq-diffusion");
    expect(conversionCacheDir({ HF_HOME: "/h" })).toBe("/h/assets/vq-diffusion");
    expect(conversionCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/huggingface/assets/vq-diffusion");
  });
});

describe("a folder holding a diffusers checkpoint", () => {
  it("converts on first use, keyed by folder, fingerprint and options; later uses convert nothing", async () => {
    const dir = copyCheckpoint(D_SAFETENSORS);
    const events: HubProgressEvent[] = [];
    const first = await openConvertedModel(dir, { onProgress: (e) => events.push(e) }, "model");
    expect(first.converted).toMatch(new RegExp(`^${assets}/vq-diffusion/folders--checkpoint--[0-9a-f]{16}/[0-9a-f]{16}/${OPTIONS_FOLDER}$`));
    expect(events.some((e) => e.status === "convert")).toBe(true);
    expect(filesUnder(first.converted!)).toContain("transformer/model.onnx");

    const again: HubProgressEvent[] = [];
    const second = await openConvertedModel(dir, { onProgress: (e) => again.push(e) }, "model");
    expect(second.converted).toBe(first.converted);
    expect(again).toEqual([]);

    // Another variant is another entry; a changed weights file another fingerprint.
    const fp16 = await openConvertedModel(dir, { variant: "fp16" }, "model");
    expect(fp16.converted).toBe(join(first.converted!, "..", "dtype=fp32,variant=fp16,converter=1"));
    utimesSync(join(dir, "vqvae/diffusion_pytorch_model.safetensors"), new Date(), new Date(2000, 1, 1));
    const changed = await openConvertedModel(dir, {}, "model");
    expect(changed.converted).not.toBe(first.converted);
    expect(join(changed.converted!, "../..")).toBe(join(first.converted!, "../.."));
  });

  it("an ONNX model folder is loaded as it is", async () => {
    const { converted } = await openConvertedModel(join(ROOT, "models/fashion-mnist"), {}, "model");
    expect(converted).toBeNull();
  });

  it("the scheduler reads scheduler_config.json alone: no conversion", async () => {
    const dir = copyCheckpoint(D_SAFETENSORS);
    const before = filesUnder(assets).length;
    const scheduler = await VQDiffusionScheduler.fromPretrained(dir, { subfolder: "scheduler" });
    expect(scheduler.config.numVecClasses).toBe(25);
    expect(filesUnder(assets).length).toBe(before);
  });

  it("an abort leaves nothing in the cache", async () => {
    const dir = copyCheckpoint(D_SAFETENSORS);
    const controller = new AbortController();
    const reason = new Error("stop");
    const before = filesUnder(assets);
    await expect(
      openConvertedModel(dir, { signal: controller.signal, onProgress: (e) => e.status === "convert" && controller.abort(reason) }, "model"),
    ).rejects.toBe(reason);
    expect(filesUnder(assets)).toEqual(before);
  });

  it("two conversions racing into the same entry both succeed; one entry, no temporary folder left", async () => {
    const dest = join(temporaryFolder(), "entry");
    const listing = await listCheckpointFolder(D_SAFETENSORS);
    const [a, b] = await Promise.all([0, 1].map(() => convertIntoFolder(directorySource(D_SAFETENSORS), listing, dest, "keep")));
    expect(a).toEqual(b);
    expect(filesUnder(join(dest, ".."))).toEqual(a.map((w) => `entry/${w.path}`).sort());
  });

  it("two processes converting the same checkpoint at once both succeed, and only one converts", async () => {
    const entry = join(ROOT, "dist/node/conversionCache.js");
    expect(existsSync(entry), "dist/ is built before the tests (npm run build)").toBe(true);
    const dir = copyCheckpoint(D_SAFETENSORS);
    const script =
      `import { openConvertedModel } from ${JSON.stringify(entry)};\nlet converted = false;\n` +
      `const r = await openConvertedModel(process.argv[1], { onProgress: (e) => { if (e.status === "convert") converted = true; } }, "model");\n` +
      `process.stdout.write(JSON.stringify({ folder: r.converted, converted }));\n`;
    const child = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, ["--input-type=module", "-e", script, dir], { env: { ...process.env, HF_ASSETS_CACHE: assets } });
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        p.on("close", (code) => resolve({ code, out, err }));
      });
    const [a, b] = await Promise.all([child(), child()]);
    expect([a.code, a.err, b.code, b.err]).toEqual([0, "", 0, ""]);
    const [ra, rb] = [a, b].map((r) => JSON.parse(r.out) as { folder: string; converted: boolean });
    expect(ra.folder).toBe(rb.folder);
    // One converted; the other waited on its lock (or came after) and used its entry.
    expect([ra.converted, rb.converted].sort()).toEqual([false, true]);
    const namespace = join(ra.folder, "../..");
    expect(filesUnder(namespace).filter((f) => f.includes(".incomplete-") || f.includes(".lock"))).toEqual([]);
    expect(filesUnder(ra.folder)).toContain("vqvae_decoder/model.onnx");
  });
});

describe("a Hub repository (loopback Hub)", () => {
  const COMMIT = "3".repeat(40);
  let server: HubServer;
  const safetensors = readFolder(D_SAFETENSORS);
  // The same checkpoint also holding D's pickled .bin weights (as the Hub's microsoft/vq-diffusion-ithq does).
  const both: Files = { ...safetensors };
  for (const [path, bytes] of Object.entries(readFolder(D_BIN))) if (path.endsWith(".bin")) both[path] = bytes;
  const onnx = readFolder(join(ROOT, "models/fashion-mnist"));
  onnx["transformer/diffusion_pytorch_model.bin"] = new Uint8Array(64).fill(7);

  beforeAll(async () => {
    server = await startHubServer({
      repos: {
        "org/d": { commits: { [COMMIT]: both }, refs: { main: COMMIT } },
        "org/onnx": { commits: { [COMMIT]: onnx }, refs: { main: COMMIT } },
      },
    });
  });
  afterAll(() => server.stop());

  const weights = (files: Files) => Object.keys(files).filter((p) => /\.(bin|safetensors)$/.test(p) && !p.startsWith("learned_"));
  const fetched = (files: Files) => weights(files).filter((p) => server.downloads(p) > 0).sort();

  it("a diffusers-only repository fetches its configs and the plain safetensors weights, never the .bin; offline, the converted entry is reused", async () => {
    const cacheDir = temporaryFolder("vqd-hub-");
    const events: HubProgressEvent[] = [];
    const first = await openConvertedModel("org/d", { hubUrl: server.url, cacheDir, onProgress: (e) => events.push(e) }, "model");
    expect(first.converted).toBe(join(assets, "vq-diffusion", "models--org--d", COMMIT, OPTIONS_FOLDER));
    expect(fetched(both)).toEqual(["text_encoder/model.safetensors", "transformer/diffusion_pytorch_model.safetensors", "vqvae/diffusion_pytorch_model.safetensors"]);
    for (const status of ["download", "done", "convert"]) expect(events.some((e) => e.status === status), status).toBe(true);
    for (const f of ["model_index.json", "tokenizer/tokenizer.json", "transformer/config.json"]) expect(server.downloads(f), f).toBe(1);

    const requests = server.requests.length;
    const offline = await openConvertedModel("org/d", { hubUrl: server.url, cacheDir, localFilesOnly: true }, "model");
    expect(offline.converted).toBe(first.converted);
    expect(server.requests.length).toBe(requests);
  });

  it("variant fp16 fetches the fp16 safetensors files alone", async () => {
    const cacheDir = temporaryFolder("vqd-hub-");
    const before = new Map(weights(both).map((p) => [p, server.downloads(p)]));
    await openConvertedModel("org/d", { hubUrl: server.url, cacheDir, variant: "fp16" }, "model");
    const now = weights(both).filter((p) => server.downloads(p) > before.get(p)!).sort();
    expect(now).toEqual(["text_encoder/model.fp16.safetensors", "transformer/diffusion_pytorch_model.fp16.safetensors", "vqvae/diffusion_pytorch_model.fp16.safetensors"]);
  });

  it("a missing variant is refused before any weights are fetched", async () => {
    const cacheDir = temporaryFolder("vqd-hub-");
    const before = weights(both).map((p) => server.downloads(p));
    await expect(openConvertedModel("org/d", { hubUrl: server.url, cacheDir, variant: "bf16" }, "model")).rejects.toThrow(
      'variant: expected weights files of the variant "bf16" (such as text_encoder/model.bf16.safetensors) in at least one component, got none: the weights files are ' +
        "text_encoder/model.fp16.safetensors, text_encoder/model.safetensors, text_encoder/pytorch_model.bin, transformer/diffusion_pytorch_model.bin, " +
        "transformer/diffusion_pytorch_model.fp16.safetensors, transformer/diffusion_pytorch_model.safetensors, vqvae/diffusion_pytorch_model.bin, " +
        "vqvae/diffusion_pytorch_model.fp16.safetensors, vqvae/diffusion_pytorch_model.safetensors",
    );
    expect(weights(both).map((p) => server.downloads(p))).toEqual(before);
  });

  it("a repository with an ONNX export keeps today's behaviour: no weights fetched, nothing converted", async () => {
    const cacheDir = temporaryFolder("vqd-hub-");
    const { converted } = await openConvertedModel("org/onnx", { hubUrl: server.url, cacheDir }, "model");
    expect(converted).toBeNull();
    expect(server.downloads("transformer/diffusion_pytorch_model.bin")).toBe(0);
    expect(server.downloads("transformer/model.onnx")).toBeGreaterThan(0);
  });
});
