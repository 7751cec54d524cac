/**
 * Models by Hub id in Node.js, against a Hub on 127.0.0.1 (test/helpers/hubServer.mjs) that this
 * file starts and stops: downloads into huggingface_hub's cache layout through @huggingface/hub,
 * loads from that cache with the server gone, pinned revisions, the errors of a Hub (404, 401, 403),
 * broken downloads leaving nothing a later run would take as whole, abort, shared downloads.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, existsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HubProgressEvent } from "../src/files/hub/progress.js";
import { TorchGenerator, VQDiffusionPipeline } from "../src/node.js";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";

const TINY = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
const FASHION = new URL("../models/fashion-mnist/", import.meta.url).pathname;
const MAIN = "1".repeat(40);
const V1 = "2".repeat(40);

const tiny = readFolder(TINY);
delete tiny["cases.json"];
// What a diffusers checkpoint also holds and the pipeline must never fetch.
tiny["transformer/diffusion_pytorch_model.bin"] = new Uint8Array(4096).fill(7);
tiny["README.md"] = new TextEncoder().encode("# tiny\n");
const fashion = readFolder(FASHION);
/** tiny-a with its transformer and decoder weights in ONNX external data files (beside the model, and in a subfolder). */
const external = { ...tiny, ...readFolder(new URL("./fixtures/external-data/", import.meta.url).pathname) };
delete external["README.md"];
/** The files a load of main fetches: tiny-a's model files. */
const TINY_FILES = Object.keys(tiny).filter((p) => !p.endsWith(".bin") && p !== "README.md").sort();

let server: HubServer;
const caches: string[] = [];
function newCache(): string {
  const dir = mkdtempSync(join(tmpdir(), "vqd-hub-"));
  caches.push(dir);
  return dir;
}

// @huggingface/hub logs every download with console.debug: kept out of the test output.
const debug = console.debug;
beforeAll(async () => {
  console.debug = () => undefined;
  server = await startHubServer({
    pageSize: 4, // every listing comes in pages: the Link header is followed
    repos: {
      "org/tiny": { commits: { [MAIN]: tiny, [V1]: fashion }, refs: { main: MAIN, v1: V1 } },
      "org/private": { commits: { [MAIN]: tiny }, refs: { main: MAIN }, private: true },
      "org/gated": { commits: { [MAIN]: tiny }, refs: { main: MAIN }, gated: true },
      "org/xet": { commits: { [MAIN]: tiny }, refs: { main: MAIN }, xet: true },
      "org/external": { commits: { [MAIN]: external }, refs: { main: MAIN } },
      "org/evil": { commits: { [MAIN]: tiny }, refs: { main: MAIN }, extraListing: [{ type: "file", path: "../../outside.onnx", size: 3, oid: "a".repeat(40) }] },
      "org/huge": { commits: { [MAIN]: tiny }, refs: { main: MAIN }, extraListing: [{ type: "file", path: "transformer/model.onnx_data", size: 2 ** 60, oid: "b".repeat(40) }] },
    },
  });
});
afterAll(async () => {
  console.debug = debug;
  await server.stop();
  for (const dir of caches) rmSync(dir, { recursive: true, force: true });
});
afterEach(() => server.clearFaults());

async function loadError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the load to fail");
}

/** Every file under `dir` (following no links), for "nothing partial was left" checks. */
function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("models by Hub id (Node.js, loopback Hub)", () => {
  it("a first run downloads into huggingface_hub's cache layout; a second, with the server stopped, loads from the cache", async () => {
    const local = await VQDiffusionPipeline.fromPretrained(TINY);
    const cacheDir = newCache();
    // A server of its own, so that stopping it leaves the other tests theirs.
    const own = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: tiny }, refs: { main: MAIN } } } });
    const events: HubProgressEvent[] = [];
    const pipe = await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: own.url, cacheDir, onProgress: (e) => events.push(e) });
    expect(pipe.config).toEqual(local.config);
    expect(pipe.components.nullEmbeddings).toEqual(local.components.nullEmbeddings);

    // Each model file fetched once; the PyTorch weights and the README never.
    for (const f of TINY_FILES) expect(own.downloads(f), f).toBe(1);
    expect(own.downloads("transformer/diffusion_pytorch_model.bin")).toBe(0);
    expect(own.downloads("README.md")).toBe(0);

    // huggingface_hub's layout: refs/main → the commit, snapshots/{commit}/{path} → ../blobs/{etag}.
    const repo = join(cacheDir, "models--org--tiny");
    expect(readFileSync(join(repo, "refs", "main"), "utf8")).toBe(MAIN);
    for (const f of TINY_FILES) {
      const link = join(repo, "snapshots", MAIN, f);
      expect(lstatSync(link).isSymbolicLink(), f).toBe(true);
      expect(readlinkSync(link)).toMatch(/^(\.\.\/)+blobs\/[0-9a-f]{40,64}$/);
      expect(new Uint8Array(readFileSync(link))).toEqual(tiny[f]);
    }
    expect(listTree(join(repo, "blobs")).filter((b) => b.endsWith(".incomplete"))).toEqual([]);

    // Progress: per file up to its size, overall to the sum of the files' sizes.
    const total = TINY_FILES.reduce((s, f) => s + tiny[f].length, 0);
    for (const e of events) {
      expect(e.loaded).toBeLessThanOrEqual(e.total);
      expect(e.overall.loaded).toBeLessThanOrEqual(e.overall.total);
    }
    expect(events.at(-1)!.overall).toEqual({ loaded: total, total });
    expect(new Set(events.filter((e) => e.status === "done").map((e) => e.file))).toEqual(new Set(TINY_FILES));
    const onnx = events.filter((e) => e.file === "transformer/model.onnx" && e.status === "download").map((e) => e.loaded);
    expect(onnx.at(-1)).toBe(tiny["transformer/model.onnx"].length);

    await own.stop();
    const again: HubProgressEvent[] = [];
    const cached = await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: own.url, cacheDir, onProgress: (e) => again.push(e) });
    expect(cached.config).toEqual(local.config);
    // Without the server, the pipeline reads the files from the snapshot: nothing is fetched, no progress.
    expect(again).toEqual([]);
    await Promise.all([local.release(), pipe.release(), cached.release()]);
  });

  it("localFilesOnly and HF_HUB_OFFLINE make no request; HF_HUB_CACHE names the cache", async () => {
    const cacheDir = newCache();
    (await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir })).release();
    const before = server.requests.length;
    const pipe = await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir, localFilesOnly: true });
    await pipe.release();
    const saved = { HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE, HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_ENDPOINT: process.env.HF_ENDPOINT };
    try {
      process.env.HF_HUB_OFFLINE = "1";
      process.env.HF_HUB_CACHE = cacheDir;
      process.env.HF_ENDPOINT = server.url;
      await (await VQDiffusionPipeline.fromPretrained("org/tiny")).release();
      expect(server.requests.length).toBe(before);
      const empty = newCache();
      expect((await loadError(VQDiffusionPipeline.fromPretrained("org/tiny", { cacheDir: empty }))).message).toBe(
        `org/tiny: offline (localFilesOnly, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE), and the cache ${join(empty, "models--org--tiny")} has no copy of revision "main": load it once online first`,
      );
      expect(server.requests.length).toBe(before);
      // Online again, through HF_ENDPOINT and HF_HUB_CACHE alone.
      process.env.HF_HUB_OFFLINE = "0";
      const fresh = newCache();
      process.env.HF_HUB_CACHE = fresh;
      await (await VQDiffusionPipeline.fromPretrained("org/tiny")).release();
      expect(readFileSync(join(fresh, "models--org--tiny", "refs", "main"), "utf8")).toBe(MAIN);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("a pinned revision: a tag and a commit load that revision's files, offline too", async () => {
    const cacheDir = newCache();
    const local = await VQDiffusionPipeline.fromPretrained(FASHION);
    const byTag = await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir, revision: "v1" });
    expect(byTag.config).toEqual(local.config);
    expect(readFileSync(join(cacheDir, "models--org--tiny", "refs", "v1"), "utf8")).toBe(V1);
    expect(existsSync(join(cacheDir, "models--org--tiny", "refs", "main"))).toBe(false);
    // Only the files the pipeline reads (prompts.json among them: docs/model-folder.md): not the training log, README or checksums, nor the text encoder's config.
    expect(listTree(join(cacheDir, "models--org--tiny", "snapshots", V1)).filter((p) => statSync(join(cacheDir, "models--org--tiny", "snapshots", V1, p)).isFile())).toEqual(
      Object.keys(fashion).filter((p) => (p.includes("/") && p !== "text_encoder/config.json") || p === "model_index.json" || p === "prompts.json").sort(),
    );
    const byCommit = await VQDiffusionPipeline.fromPretrained("org/tiny", { cacheDir, revision: V1, localFilesOnly: true });
    expect(byCommit.config).toEqual(local.config);
    expect(byCommit.components.tokenizer).not.toBeNull();
    const prompt = "ankle boot";
    const run = async (p: VQDiffusionPipeline) => (await p.generate({ prompt, numInferenceSteps: 3, generator: new TorchGenerator().manualSeed(0) })).tokens.data;
    expect(await run(byCommit)).toEqual(await run(local));
    await Promise.all([local.release(), byTag.release(), byCommit.release()]);
  });

  it("ONNX external data: the usual name is fetched with the model, another named by the model on demand; opened from the cache by path", async () => {
    const cacheDir = newCache();
    const events: HubProgressEvent[] = [];
    // The server counts by path over all its repos: other tests' models may carry the same names.
    const files = ["transformer/model.onnx.data", "vqvae_decoder/weights/decoder.bin"];
    const before = files.map((f) => server.downloads(f));
    const pipe = await VQDiffusionPipeline.fromPretrained("org/external", { hubUrl: server.url, cacheDir, onProgress: (e) => events.push(e) });
    const local = await VQDiffusionPipeline.fromPretrained(TINY);
    for (const [i, f] of files.entries()) {
      expect(server.downloads(f) - before[i], f).toBe(1);
      expect(new Uint8Array(readFileSync(join(cacheDir, "models--org--external", "snapshots", MAIN, f)))).toEqual(external[f]);
    }
    expect(server.downloads("transformer/diffusion_pytorch_model.bin")).toBe(0);
    // The overall total grows by the file fetched on demand.
    const totals = [...new Set(events.map((e) => e.overall.total))];
    expect(totals.at(-1)! - totals[0]).toBe(external["vqvae_decoder/weights/decoder.bin"].length);
    const { sequenceLength: L, crossAttentionDim: D } = local.config;
    const promptEmbeds = { data: Float32Array.from({ length: L * D }, (_, i) => Math.sin(i)), dims: [1, L, D] };
    const run = async (p: VQDiffusionPipeline) => (await p.generate({ promptEmbeds, numInferenceSteps: 3, generator: new TorchGenerator().manualSeed(0) })).tokens.data;
    expect(await run(pipe)).toEqual(await run(local));
    await Promise.all([pipe.release(), local.release()]);
  });

  it("a Xet-stored file is fetched whole from resolve/, counted and checked like any other", async () => {
    const cacheDir = newCache();
    const pipe = await VQDiffusionPipeline.fromPretrained("org/xet", { hubUrl: server.url, cacheDir });
    await pipe.release();
    expect(server.requests.filter((r) => r.path.startsWith("/xet/"))).toEqual([]);
    expect(new Uint8Array(readFileSync(join(cacheDir, "models--org--xet", "snapshots", MAIN, "transformer/model.onnx")))).toEqual(tiny["transformer/model.onnx"]);
  });

  it("a malformed id or revision is refused before any request", async () => {
    const before = server.requests.length;
    const opts = { hubUrl: server.url, cacheDir: newCache() };
    const idRule =
      "a Hub model id org/name (letters, digits, '.', '_', '-'; each part starting and ending with a letter or digit; no '--' or '..'; at most 96 characters)";
    for (const id of ["org/ti--ny", "org/tiny.git", "org/tiny.", "org/ti..ny", `org/${"x".repeat(100)}`]) {
      expect((await loadError(VQDiffusionPipeline.fromPretrained(id, opts))).message, id).toBe(`pretrainedModelNameOrPath: expected ${idRule}, got ${JSON.stringify(id.length > 60 ? id.slice(0, 57) + "..." : id)}`);
    }
    // Not even of the id's form: the model-argument rule refuses them (a relative folder starts with ./).
    for (const id of ["org/-tiny", "org/ti ny", "org/", "o\u0000/x"]) {
      expect((await loadError(VQDiffusionPipeline.fromPretrained(id, opts))).message, id).toMatch(/^pretrainedModelNameOrPath: expected a bundled model .*, which is no folder in the working directory, nor a Hub id org\/name$/);
    }
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/tiny", { ...opts, revision: "../../etc" }))).message).toBe(
      `revision: expected a branch, tag or commit (letters, digits, '.', '_', '-', '/'; no empty or '..' segment; at most 256 characters), got "../../etc"`,
    );
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/tiny", { ...opts, hubUrl: "ftp://x" }))).message).toBe(
      'hubUrl: expected an http(s) URL such as https://huggingface.co, got "ftp://x"',
    );
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/tiny", { ...opts, accessToken: "hf_secret token" }))).message).toBe(
      "accessToken: expected a non-empty string without spaces or control characters, got a string that is not",
    );
    expect(server.requests.length).toBe(before);
  });

  it("404 for a repository, a revision and a file name the repository, the file and what to do", async () => {
    const opts = { hubUrl: server.url, cacheDir: newCache() };
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/nope", opts))).message).toBe(
      `org/nope: the Hub answered HTTP 404 (RepoNotFound) for the model's information at revision "main": no such model on ${server.url}, or it is private: check the id, or pass accessToken (or set HF_TOKEN) for a private repository`,
    );
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/tiny", { ...opts, revision: "v9" }))).message).toBe(
      `org/tiny: the Hub answered HTTP 404 (RevisionNotFound) for the model's information at revision "v9": no revision "v9": give an existing branch, tag or commit as revision`,
    );
    server.fault("vqvae_decoder/model.onnx", "missing");
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/tiny", opts))).message).toBe(
      `org/tiny: the Hub answered HTTP 404 (EntryNotFound) for vqvae_decoder/model.onnx at revision "main": the repository has no vqvae_decoder/model.onnx at this revision: it is not a VQ-Diffusion model folder exported to ONNX, or the revision is another`,
    );
  });

  it("401 (private) and 403 (gated) say what to do and never show the token; the token opens a private repository", async () => {
    const cacheDir = newCache();
    const opts = { hubUrl: server.url, cacheDir };
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/private", opts))).message).toBe(
      `org/private: the Hub answered HTTP 401 (RepoNotFound) for the model's information at revision "main": the repository is private or gated, or the token is not valid: pass accessToken (or set HF_TOKEN) with a token that may read org/private`,
    );
    const wrong = "hf_wrong_secret_0123";
    const e401 = await loadError(VQDiffusionPipeline.fromPretrained("org/private", { ...opts, accessToken: wrong }));
    expect(e401.message).not.toContain(wrong);
    const e403 = await loadError(VQDiffusionPipeline.fromPretrained("org/gated", { ...opts, accessToken: server.token }));
    expect(e403.message).toMatch(
      new RegExp(`^org/gated: the Hub answered HTTP 403 \\(GatedRepo\\) for [a-z_/]+\\.[a-z]+ at revision "main": access is refused \\(a gated repository whose conditions are not accepted, or a token without read access\\): accept the conditions at ${server.url}/org/gated with the token's account, then pass accessToken \\(or set HF_TOKEN\\)$`),
    );
    expect(JSON.stringify(e403) + String(e403.stack)).not.toContain(server.token);

    const pipe = await VQDiffusionPipeline.fromPretrained("org/private", { ...opts, accessToken: server.token });
    await pipe.release();
    // HF_HOME: its hub/ folder is the cache, and its token file (Python's login) the token.
    const home = newCache();
    writeFileSync(join(home, "token"), `${server.token}\n`);
    const savedHome = process.env.HF_HOME;
    process.env.HF_HOME = home;
    try {
      await (await VQDiffusionPipeline.fromPretrained("org/private", { hubUrl: server.url })).release();
      expect(readFileSync(join(home, "hub", "models--org--private", "refs", "main"), "utf8")).toBe(MAIN);
    } finally {
      if (savedHome === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = savedHome;
    }
    const saved = process.env.HF_TOKEN;
    process.env.HF_TOKEN = server.token;
    try {
      await (await VQDiffusionPipeline.fromPretrained("org/private", { hubUrl: server.url, cacheDir: newCache() })).release();
    } finally {
      if (saved === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = saved;
    }
    // The token went in the Authorization header, and into no file of the cache.
    expect(server.requests.some((r) => r.authorization === `Bearer ${server.token}`)).toBe(true);
    for (const f of listTree(cacheDir)) {
      const p = join(cacheDir, f);
      if (statSync(p).isFile()) expect(readFileSync(p).includes(Buffer.from(server.token)), f).toBe(false);
    }
  });

  it.each(["drop", "short"] as const)("a connection that breaks mid-file (%s) is an error and leaves no partial file; the next run completes", async (kind) => {
    const cacheDir = newCache();
    const file = "transformer/model.onnx";
    server.fault(file, kind);
    const e = await loadError(VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir }));
    expect(e.message).toMatch(new RegExp(`^org/tiny: downloading ${file}: (the connection broke after \\d+ of ${tiny[file].length} bytes|expected ${tiny[file].length} bytes, got \\d+ \\(the body ended early\\))`));
    const repo = join(cacheDir, "models--org--tiny");
    expect(listTree(join(repo, "blobs")).filter((b) => b.endsWith(".incomplete"))).toEqual([]);
    expect(existsSync(join(repo, "snapshots", MAIN, file))).toBe(false);
    for (const b of listTree(join(repo, "blobs"))) expect(statSync(join(repo, "blobs", b)).size).not.toBe(tiny[file].length >> 1);
    const before = server.downloads(file);
    await (await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir })).release();
    expect(server.downloads(file)).toBe(before + 1);
    expect(new Uint8Array(readFileSync(join(repo, "snapshots", MAIN, file)))).toEqual(tiny[file]);
  });

  it("signal aborts a download midway: an AbortError, no partial file", { timeout: 15_000 }, async () => {
    const cacheDir = newCache();
    const file = "transformer/model.onnx";
    server.fault(file, "hang");
    const controller = new AbortController();
    const e = await loadError(
      VQDiffusionPipeline.fromPretrained("org/tiny", {
        hubUrl: server.url, cacheDir, signal: controller.signal,
        onProgress: (ev) => { if (ev.file === file && ev.loaded > 0) controller.abort(); },
      }),
    );
    expect(e.name).toBe("AbortError");
    const repo = join(cacheDir, "models--org--tiny");
    expect(existsSync(join(repo, "snapshots", MAIN, file))).toBe(false);
    expect(listTree(join(repo, "blobs")).filter((b) => b.endsWith(".incomplete"))).toEqual([]);
  });

  it("two concurrent loads of the same id fetch each file once", async () => {
    const cacheDir = newCache();
    const own = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: tiny }, refs: { main: MAIN } } } });
    try {
      const [a, b] = await Promise.all([0, 1].map(() => VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: own.url, cacheDir })));
      expect(a.config).toEqual(b.config);
      for (const f of TINY_FILES) expect(own.downloads(f), f).toBe(1);
      await Promise.all([a.release(), b.release()]);
    } finally {
      await own.stop();
    }
  });

  it("a listing naming a file outside the repository, or of an unbounded size, is refused before any download", async () => {
    const opts = { hubUrl: server.url, cacheDir: newCache() };
    const before = server.requests.filter((r) => r.path.includes("/resolve/")).length;
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/evil", opts))).message).toBe(
      `org/evil: the listing ${server.url}/api/models/org/evil/tree/${MAIN}?recursive=true&expand=false&cursor=12: expected a file path inside the repository (relative, "/"-separated, no "..", "." or empty segment, no backslash, NUL or control character, no drive such as C:, at most 1024 characters), got "../../outside.onnx"`,
    );
    expect((await loadError(VQDiffusionPipeline.fromPretrained("org/huge", opts))).message).toMatch(
      /^org\/huge: the listing .*: expected the size of transformer\/model.onnx_data to be an integer number of bytes in \[0, 68719476736\], got 1152921504606847000$/,
    );
    expect(server.requests.filter((r) => r.path.includes("/resolve/")).length).toBe(before);
  });
});
