// The page test's Hub case (called by run.mjs): in headless Chromium, a page on one loopback origin
// loads the model "org/tiny" from a Hub on another (test/helpers/hubServer.mjs) into Cache Storage,
// generates, then loads it again with the Hub stopped (and with localFilesOnly): the same tokens,
// and the same as Node.js from the folder. The page is the core entry and onnxruntime-web (WASM),
// bundled here by esbuild; nothing else is served.
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { TorchGenerator } from "../../dist/index.js";
import { VQDiffusionPipeline } from "../../dist/node.js";
import { readFolder, startHubServer } from "../helpers/hubServer.mjs";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const ortDist = join(repo, "node_modules/onnxruntime-web/dist/");
const TINY = join(repo, "test/fixtures/pipeline-golden/tiny-a");
const COMMIT = "5".repeat(40);

// In the page: window.loadHub(options) loads org/tiny, generates 3 steps from fixed embeddings, and
// returns the tokens, the progress events and what Cache Storage holds.
const ENTRY = `
import * as ort from "onnxruntime-web";
import { VQDiffusionPipeline, TorchGenerator } from "./dist/index.js";
ort.env.wasm.wasmPaths = location.origin + "/ort/";
ort.env.wasm.numThreads = 1;
window.loadHub = async (options) => {
  const events = [];
  const pipe = await VQDiffusionPipeline.fromPretrained("org/tiny", { ort, ...options, onProgress: (e) => events.push(e) });
  const { sequenceLength: L, crossAttentionDim: D } = pipe.config;
  const data = Float32Array.from({ length: L * D }, (_, i) => Math.sin(i));
  const { tokens } = await pipe.generate({ promptEmbeds: { data, dims: [1, L, D] }, numInferenceSteps: 3, generator: new TorchGenerator().manualSeed(0) });
  await pipe.release();
  const cache = await caches.open("vq-diffusion-hub");
  const keys = (await cache.keys()).map((r) => r.url);
  return { tokens: Array.from(tokens.data), events, keys, cacheNames: await caches.keys() };
};
window.hubReady = true;
`;

/** Runs the Hub case; `check(name, body)` counts it as run.mjs does. */
export async function hubPageCheck(browser, check) {
  await check("Hub id into Cache Storage, then offline", async () => {
    const tiny = readFolder(TINY);
    delete tiny["cases.json"];
    const hub = await startHubServer({ repos: { "org/tiny": { commits: { [COMMIT]: tiny }, refs: { main: COMMIT } } } });
    const bundle = await build({
      stdin: { contents: ENTRY, resolveDir: repo, sourcefile: "hub-page.js" }, bundle: true, format: "esm", platform: "browser",
      conditions: ["onnxruntime-web-use-extern-wasm"], write: false, logLevel: "silent",
    });
    const script = bundle.outputFiles[0].text;
    const pageServer = createServer((req, res) => {
      const path = new URL(req.url, "http://x").pathname;
      if (path === "/") return void res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><script type="module" src="/hub-page.js"></script>');
      if (path === "/hub-page.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(script);
      const name = path.startsWith("/ort/") ? path.slice(5) : "";
      if (/^[\w.-]+\.(mjs|wasm)$/.test(name) && existsSync(ortDist + name)) {
        return void res.writeHead(200, { "content-type": name.endsWith(".wasm") ? "application/wasm" : "text/javascript" }).end(readFileSync(ortDist + name));
      }
      res.writeHead(404).end();
    });
    await new Promise((r) => pageServer.listen(0, "127.0.0.1", r));
    const page = await browser.newPage();
    try {
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${pageServer.address().port}/`);
      await page.waitForFunction(() => window.hubReady === true, null, { timeout: 60_000 });
      const load = (options) => page.evaluate((o) => window.loadHub(o), options);

      const first = await load({ hubUrl: hub.url });
      const files = Object.keys(tiny).sort();
      for (const f of files) assert.equal(hub.downloads(f), 1, `${f} downloaded once`);
      const total = files.reduce((s, f) => s + tiny[f].length, 0);
      assert.deepEqual(first.events.at(-1).overall, { loaded: total, total });
      assert.ok(first.cacheNames.includes("vq-diffusion-hub"), `Cache Storage names: ${first.cacheNames}`);
      assert.ok(first.keys.includes(`${hub.url}/org/tiny/resolve/${COMMIT}/transformer/model.onnx`), `cached: ${first.keys.join(", ")}`);

      const local = await VQDiffusionPipeline.fromPretrained(TINY);
      const { sequenceLength: L, crossAttentionDim: D } = local.config;
      const data = Float32Array.from({ length: L * D }, (_, i) => Math.sin(i));
      const inNode = await local.generate({ promptEmbeds: { data, dims: [1, L, D] }, numInferenceSteps: 3, generator: new TorchGenerator().manualSeed(0) });
      await local.release();
      assert.deepEqual(first.tokens, Array.from(inNode.tokens.data), "page tokens (Hub id) differ from Node.js (folder)");

      await hub.stop();
      const offline = await load({ hubUrl: hub.url });
      const localOnly = await load({ hubUrl: hub.url, localFilesOnly: true });
      assert.deepEqual(offline.tokens, first.tokens, "tokens after loading from Cache Storage with the Hub stopped");
      assert.deepEqual(localOnly.tokens, first.tokens, "tokens with localFilesOnly");
      assert.deepEqual(errors, []);
      return `${files.length} files fetched once into Cache Storage; ${first.tokens.length} tokens equal to Node.js, and again with the Hub stopped and with localFilesOnly`;
    } finally {
      await page.close();
      await hub.stop();
      pageServer.close();
    }
  });
}
