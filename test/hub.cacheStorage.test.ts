/**
 * Browsers' Cache Storage full (a fake CacheStorage with a quota, installed as globalThis.caches):
 * `cache.put` rejecting with QuotaExceededError is a warning through onWarning, and the load goes
 * on with the bytes it downloaded, as transformers.js does ("Unable to add response to browser
 * cache"); nothing is downloaded twice in that load.
 */
import * as ort from "onnxruntime-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionPipeline, type OrtModule } from "../src/index.js";
import { readFolder, startHubServer, type HubServer } from "./helpers/hubServer.mjs";

const TINY = new URL("./fixtures/pipeline-golden/tiny-a/", import.meta.url).pathname;
const MAIN = "9".repeat(40);
const tiny = readFolder(TINY);
delete tiny["cases.json"];
const FILES = Object.keys(tiny).sort();

/** A Cache of at most `quota` bytes of bodies; put reads the whole body first, as browsers do, then refuses past the quota. */
class FakeCache {
  readonly entries = new Map<string, { bytes: Uint8Array; headers: Headers }>();
  private used = 0;
  constructor(private readonly quota: number) {}
  async match(key: RequestInfo | URL): Promise<Response | undefined> {
    const hit = this.entries.get(String(key));
    return hit === undefined ? undefined : new Response(hit.bytes.slice(), { headers: hit.headers });
  }
  async put(key: RequestInfo | URL, response: Response): Promise<void> {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (this.used + bytes.length > this.quota) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    this.used += bytes.length;
    this.entries.set(String(key), { bytes, headers: response.headers });
  }
}

class FakeCacheStorage {
  readonly caches = new Map<string, FakeCache>();
  constructor(private readonly quota: number) {}
  async open(name: string): Promise<FakeCache> {
    if (!this.caches.has(name)) this.caches.set(name, new FakeCache(this.quota));
    return this.caches.get(name)!;
  }
}

let server: HubServer;
beforeAll(async () => {
  server = await startHubServer({ repos: { "org/tiny": { commits: { [MAIN]: tiny }, refs: { main: MAIN } } } });
});
afterAll(() => server.stop());
afterEach(() => {
  delete (globalThis as { caches?: unknown }).caches;
});

async function loadWith(storage: FakeCacheStorage): Promise<{ pipe: VQDiffusionPipeline; warnings: string[]; fetched: number[] }> {
  (globalThis as { caches?: unknown }).caches = storage;
  const before = FILES.map((f) => server.downloads(f));
  const warnings: string[] = [];
  const pipe = await VQDiffusionPipeline.fromPretrained("org/tiny", { ort: ort as unknown as OrtModule, hubUrl: server.url, onWarning: (m) => warnings.push(m) });
  return { pipe, warnings, fetched: FILES.map((f, i) => server.downloads(f) - before[i]) };
}

describe("Cache Storage full (QuotaExceededError on cache.put)", () => {
  it("the files it cannot keep are used from the bytes downloaded, with a warning each; the others are kept", async () => {
    const storage = new FakeCacheStorage(100_000); // the configs fit, the two ONNX files (~240 KB each) do not
    const { pipe, warnings, fetched } = await loadWith(storage);
    expect(fetched).toEqual(FILES.map(() => 1));
    const warning = (file: string) =>
      `org/tiny: Cache Storage "vq-diffusion-hub" could not keep ${file} (QuotaExceededError: The quota has been exceeded.): it is used from memory for this load, and will be downloaded again by the next one`;
    expect(warnings.sort()).toEqual([warning("transformer/model.onnx"), warning("vqvae_decoder/model.onnx")]);
    const kept = [...storage.caches.get("vq-diffusion-hub")!.entries.keys()].filter((k) => k.includes("/resolve/")).map((k) => k.split(`/resolve/${MAIN}/`)[1]).sort();
    expect(kept).toEqual(FILES.filter((f) => !f.endsWith(".onnx")));

    const { sequenceLength: L, crossAttentionDim: D } = pipe.config;
    const promptEmbeds = { data: Float32Array.from({ length: L * D }, (_, i) => Math.sin(i)), dims: [1, L, D] };
    // The same as a load without Cache Storage (files kept in memory for the load).
    delete (globalThis as { caches?: unknown }).caches;
    const reference = await VQDiffusionPipeline.fromPretrained("org/tiny", { ort: ort as unknown as OrtModule, hubUrl: server.url });
    const run = async (p: VQDiffusionPipeline) => (await p.generate({ promptEmbeds, numInferenceSteps: 2, generator: new TorchGenerator().manualSeed(0) })).tokens.data;
    expect(await run(pipe)).toEqual(await run(reference));
    await reference.release();
    await pipe.release();
  });

  it("a Cache Storage that keeps nothing: the load still succeeds, and says the revision is not kept for offline use", async () => {
    const { pipe, warnings, fetched } = await loadWith(new FakeCacheStorage(0));
    expect(fetched).toEqual(FILES.map(() => 1));
    expect(warnings).toHaveLength(FILES.length + 1);
    expect(warnings[0]).toBe(
      `org/tiny: Cache Storage "vq-diffusion-hub" could not keep the commit and listing of revision "main" (QuotaExceededError: The quota has been exceeded.): a load without the Hub will not find them`,
    );
    await pipe.release();
  });

  it("two loads at once over a full cache: both whole (each its own downloads: what one holds in memory is its own)", async () => {
    (globalThis as { caches?: unknown }).caches = new FakeCacheStorage(100_000);
    const before = FILES.map((f) => server.downloads(f));
    const warnings: string[] = [];
    const options = { ort: ort as unknown as OrtModule, hubUrl: server.url, onWarning: (m: string) => warnings.push(m) };
    const [a, b] = await Promise.all([VQDiffusionPipeline.fromPretrained("org/tiny", options), VQDiffusionPipeline.fromPretrained("org/tiny", options)]);
    expect(FILES.map((f, i) => server.downloads(f) - before[i])).toEqual(FILES.map(() => 2));
    expect(a.config).toEqual(b.config);
    expect(warnings).toHaveLength(4);
    await Promise.all([a.release(), b.release()]);
  });
});
