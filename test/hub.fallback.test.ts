/**
 * The Hub fails while the model is cached: the load falls back to the cached snapshot exactly when
 * huggingface_hub's `snapshot_download` does (diffusers' `from_pretrained` goes through it): no
 * answer, a timeout (HF_HUB_ETAG_TIMEOUT), or any HTTP error answer but 404 RevisionNotFound; the
 * fallback is said through onWarning. Without a cached copy, the Hub's error comes through. A
 * download that stops sending is an error after HF_HUB_DOWNLOAD_TIMEOUT seconds, not a hang.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { VQDiffusionPipeline } from "../src/node.js";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";

const TINY = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
const MAIN = "6".repeat(40);
const V1 = "7".repeat(40);
const tiny = readFolder(TINY);
delete tiny["cases.json"];

let server: HubServer;
const dirs: string[] = [];
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), "vqd-fallback-"));
  dirs.push(d);
  return d;
};
let cacheDir: string;
const debug = console.debug;

beforeAll(async () => {
  console.debug = () => undefined;
  server = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: tiny, [V1]: tiny }, refs: { main: MAIN, v1: V1 } } } });
  cacheDir = newDir();
  await (await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir })).release();
  await (await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir, revision: "v1" })).release();
});
afterAll(async () => {
  console.debug = debug;
  await server.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(() => server.clearFaults());

/** Loads org/tiny from the cache while the Hub fails; returns the warnings. */
async function loadWhileFailing(options: { revision?: string } = {}): Promise<string[]> {
  const warnings: string[] = [];
  const downloads = server.requests.filter((r) => !r.path.startsWith("/api/")).length;
  const pipe = await VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir, onWarning: (m) => warnings.push(m), ...options });
  expect(pipe.config.numVecClasses).toBeGreaterThan(2);
  await pipe.release();
  expect(server.requests.filter((r) => !r.path.startsWith("/api/")).length).toBe(downloads);
  return warnings;
}

describe("the Hub fails while the model is cached (huggingface_hub's fallback)", () => {
  it.each([500, 502, 503, 504, 429])("HTTP %i: the cached snapshot loads, with a warning", async (status) => {
    server.apiFault(status);
    expect(await loadWhileFailing()).toEqual([
      `org/tiny: the Hub answered HTTP ${status} for the model's information at revision "main"; loading revision "main" (${MAIN}) from the cache ${join(cacheDir, "models--org--tiny")}`,
    ]);
  });

  it("HTTP 401 and 404 RepoNotFound too (a token that expired, a repository made private): huggingface_hub falls back on every HTTP error", async () => {
    server.apiFault(401);
    expect(await loadWhileFailing({ revision: "v1" })).toHaveLength(1);
    server.apiFault(404);
    expect(await loadWhileFailing()).toHaveLength(1);
  });

  it("a Hub that does not answer within HF_HUB_ETAG_TIMEOUT: the cached snapshot loads", { timeout: 20_000 }, async () => {
    const saved = process.env.HF_HUB_ETAG_TIMEOUT;
    process.env.HF_HUB_ETAG_TIMEOUT = "1";
    try {
      server.apiFault("hang");
      expect(await loadWhileFailing()).toEqual([
        `org/tiny: ${server.url} did not answer within 1 s (HF_HUB_ETAG_TIMEOUT); loading revision "main" (${MAIN}) from the cache ${join(cacheDir, "models--org--tiny")}`,
      ]);
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_ETAG_TIMEOUT;
      else process.env.HF_HUB_ETAG_TIMEOUT = saved;
    }
  });

  it("404 RevisionNotFound does not fall back: the revision is gone from the Hub", async () => {
    // A Hub where v1 no longer exists, over the cache that holds it.
    const own = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: tiny }, refs: { main: MAIN } } } });
    try {
      await expect(VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: own.url, cacheDir, revision: "v1" })).rejects.toThrow(
        `org/tiny: the Hub answered HTTP 404 (RevisionNotFound) for the model's information at revision "v1": no revision "v1"`,
      );
    } finally {
      await own.stop();
    }
  });

  it("without a cached copy, the Hub's error comes through, saying the cache has none", { timeout: 20_000 }, async () => {
    const empty = newDir();
    server.apiFault(503);
    await expect(VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir: empty })).rejects.toThrow(
      `org/tiny: the Hub answered HTTP 503 for the model's information at revision "main": the server failed, try again later; the cache ${join(empty, "models--org--tiny")} has no copy of revision "main" to fall back on`,
    );
    // An access error is the Hub's own, as huggingface_hub raises it.
    server.apiFault(401);
    await expect(VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir: empty })).rejects.toThrow(
      /^org\/tiny: the Hub answered HTTP 401 for the model's information at revision "main": the repository is private or gated/,
    );
    const saved = process.env.HF_HUB_ETAG_TIMEOUT;
    process.env.HF_HUB_ETAG_TIMEOUT = "1";
    try {
      server.apiFault("hang");
      await expect(VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir: empty })).rejects.toThrow(
        `org/tiny: ${server.url} did not answer within 1 s (HF_HUB_ETAG_TIMEOUT), and the cache ${join(empty, "models--org--tiny")} has no copy of revision "main": check the connection, or hubUrl / HF_ENDPOINT`,
      );
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_ETAG_TIMEOUT;
      else process.env.HF_HUB_ETAG_TIMEOUT = saved;
    }
  });

  it("a download that stops sending for HF_HUB_DOWNLOAD_TIMEOUT seconds is an error, not a hang, and leaves no partial file", { timeout: 20_000 }, async () => {
    const empty = newDir();
    const saved = process.env.HF_HUB_DOWNLOAD_TIMEOUT;
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = "1";
    try {
      server.fault("transformer/model.onnx", "hang");
      await expect(VQDiffusionPipeline.fromPretrained("org/tiny", { hubUrl: server.url, cacheDir: empty })).rejects.toThrow(
        `org/tiny: downloading transformer/model.onnx: no bytes for 1 s after ${tiny["transformer/model.onnx"].length >> 1} of ${tiny["transformer/model.onnx"].length} (HF_HUB_DOWNLOAD_TIMEOUT)`,
      );
      const blobs = join(empty, "models--org--tiny", "blobs");
      expect(readdirSync(blobs).filter((b) => b.includes(".incomplete"))).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_DOWNLOAD_TIMEOUT;
      else process.env.HF_HUB_DOWNLOAD_TIMEOUT = saved;
    }
  });
});
