// npm run test:browser: the built demo page (examples/web/dist) in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core): fixed seeds generated in the page, text to image with
// the Fashion-MNIST model on onnxruntime-web (WASM) and pixel-art sampling, must give the same tokens
// as the same runs in Node.js (onnxruntime-node); screenshots are saved to test-results/. The page is
// served cross-origin isolated (multi-threaded WASM), and once more without (one thread) and with
// WebGPU (threadsAndWebGPU); the scheduler's step split over Web Workers (threadsPage.mjs).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { samplePixelArt } from "../../dist/demo/index.js";
import { TorchGenerator } from "../../dist/index.js";
import { VQDiffusionPipeline } from "../../dist/node.js";
import { hubPageCheck } from "./hubPage.mjs";
import { layoutPageCheck } from "./layoutPage.mjs";
import { threadsPageCheck } from "./threadsPage.mjs";

const root = fileURLToPath(new URL("../../examples/web/dist/", import.meta.url));
const results = fileURLToPath(new URL("../../test-results/", import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".png": "image/png", ".wasm": "application/wasm", ".json": "application/json" };

if (!existsSync(join(root, "index.html"))) throw new Error(`${root}index.html: expected the built page (vite build examples/web), got nothing`);
if (!existsSync(executablePath)) throw new Error(`${executablePath}: expected Chromium (apt-get install -y chromium), got nothing`);

/** Serves the built page; `isolated`: with the headers that make it cross-origin isolated (multi-threaded WASM). */
async function serve(isolated) {
  const headers = isolated ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(root, path.endsWith("/") ? path + "index.html" : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", ...headers }).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
// The page as a deployment should serve it (isolated), and as a plain static host would (one thread).
const server = await serve(true);
const plainServer = await serve(false);
const { port } = server.address();

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const cases = [
  { seed: 7, steps: 100, batch: 4, guidance: 1, truncation: 1, mode: "reference" },
  { seed: 3, steps: 50, batch: 4, label: "heart", guidance: 3, truncation: 0.9, mode: "fast" },
  { seed: 5, steps: 20, batch: 4, spacing: "linspace", strategy: "purity" },
];
const textCases = [
  { prompt: "sneaker", images: 4, steps: 25, guidance: 5, truncation: 1, seed: 1, spacing: "reference", strategy: "posterior", preview: "on" },
  { prompt: "bag", images: 2, steps: 20, guidance: 5, truncation: 1, seed: 2, spacing: "linspace", strategy: "purity", preview: "off" },
  { prompt: "ankle boot", images: 8, steps: 50, guidance: 5, truncation: 0.9, seed: 0, spacing: "linspace", strategy: "posterior", preview: "on" },
];
const pipe = await VQDiffusionPipeline.fromPretrained(fileURLToPath(new URL("../../models/fashion-mnist", import.meta.url)));
const timesTable = [];
let passed = 0;
let failed = 0;

/** One named check: counted as passed with the line `body` returns, or printed with why it failed. */
async function check(name, body) {
  try {
    console.log(`ok ${name}: ${await body()}`);
    passed++;
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    failed++;
  }
}

/** Opens the page with `params` and autorun=1, waits for it to finish, asserts it is done; returns its status and result. */
async function runPage(params, viewport, timeout, on = { browser, port }) {
  const page = await on.browser.newPage({ viewport });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("response", (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} for ${r.url()}`)); // the favicon included
  const query = new URLSearchParams({ ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])), autorun: "1" });
  await page.goto(`http://127.0.0.1:${on.port}/?${query}`);
  await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout });
  const state = await page.evaluate(() => document.body.dataset.state);
  const statusText = await page.textContent("#status");
  assert.equal(state, "done", `page state: ${statusText}; errors: ${errors.join("; ")}`);
  assert.deepEqual(errors, [], "errors in the page or failed requests");
  return { page, statusText, inPage: await page.evaluate(() => window.vqdResult) };
}

/**
 * One text case on the isolated page (multi-threaded WASM), the plain page (one thread), and with
 * onnxruntime-web's WebGPU execution provider (Chromium's software adapter, SwiftShader, started with
 * --enable-unsafe-webgpu; the float64 nodes fall back to WASM): the same tokens as Node.js, and a
 * table of the transformer's ms per step and the whole generation.
 */
async function threadsAndWebGPU() {
  const rows = [];
  for (const images of [1, 16]) {
    const c = { prompt: "ankle boot", images, steps: 20, guidance: 5, truncation: 1, seed: 4, spacing: "linspace", strategy: "posterior", preview: "off" };
    const started = performance.now();
    const inNode = await pipe.generate({
      prompt: c.prompt, numImagesPerPrompt: c.images, numInferenceSteps: c.steps, guidanceScale: c.guidance, truncationRate: c.truncation,
      generator: new TorchGenerator().manualSeed(c.seed), timestepSpacing: c.spacing,
    });
    rows.push({ images, where: "Node.js (onnxruntime-node)", transformerMs: inNode.timings.transformerMs / c.steps, totalMs: performance.now() - started });
    const runs = [
      ["isolated page", { backend: "wasm" }, { browser, port }, (r) => assert.match(r.backend, /^wasm, [2-9]\d* threads$/)],
      ["plain page", { backend: "wasm" }, { browser, port: plainServer.address().port }, (r) => assert.equal(r.backend, "wasm, 1 thread")],
      ["WebGPU", { backend: "webgpu" }, { browser: gpuBrowser, port }, (r) => assert.match(r.backend, /^webgpu \(/)],
    ].filter(([where]) => where !== "WebGPU" || images === 1); // the software adapter takes seconds per step
    for (const [where, extra, on, expectBackend] of runs) {
      await check(`${where}, ${images} image(s)`, async () => {
        const { page, inPage } = await runPage({ page: "text", ...c, ...extra }, { width: 900, height: 760 }, 300_000, on);
        await page.close();
        expectBackend(inPage);
        const expected = Array.from(inNode.tokens.data);
        const differ = inPage.tokens.flatMap((t, j) => (t === expected[j] ? [] : [j]));
        rows.push({ images, where: `Chromium, ${where} (${inPage.backend})`, transformerMs: inPage.times.transformerMs, totalMs: inPage.totalMs });
        assert.equal(differ.length, 0, `${differ.length} of ${expected.length} tokens differ from Node.js, the first at image ${Math.floor(differ[0] / 49)}, pixel ${differ[0] % 49}`);
        return `${expected.length} tokens equal to Node.js (${inPage.backend})`;
      });
    }
  }
  console.log(`guided generations, 20 steps ("ankle boot", seed 4), the same machine and run; ${new Date().toISOString().slice(0, 10)}`);
  console.log("| images | where | transformer ms/step | whole generation ms |\n| --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.images} | ${r.where} | ${r.transformerMs.toFixed(2)} | ${r.totalMs.toFixed(0)} |`);
}

const gpuBrowser = await chromium.launch({ executablePath, headless: true, args: ["--headless", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-quic", "--no-first-run"] });
try {
  for (const [i, c] of textCases.entries()) {
    const name = `text case ${i + 1} ${JSON.stringify(c)}`;
    await check(name, async () => {
      const { page, statusText, inPage } = await runPage({ page: "text", ...c }, { width: 900, height: 760 }, 300_000);
      const inNode = await pipe.generate({
        prompt: c.prompt, numImagesPerPrompt: c.images, numInferenceSteps: c.steps, guidanceScale: c.guidance, truncationRate: c.truncation,
        generator: new TorchGenerator().manualSeed(c.seed), timestepSpacing: c.spacing === "reference" ? undefined : c.spacing, strategy: c.strategy,
      });
      assert.deepEqual(inPage.tokens, Array.from(inNode.tokens.data), `${name}: page tokens differ from Node.js`);
      const n = Math.max(1, inNode.timings.steps);
      timesTable.push({ case: i + 1, images: c.images, chromium: inPage.times, node: { transformerMs: inNode.timings.transformerMs / n, schedulerMs: inNode.timings.schedulerMs / n, guidanceMs: inNode.timings.guidanceMs / n } });
      if (i === textCases.length - 1) {
        mkdirSync(results, { recursive: true });
        await page.screenshot({ path: join(results, "web-text-to-image.png"), fullPage: true });
      }
      await page.close();
      return `${inNode.tokens.data.length} tokens equal to Node.js; page says "${statusText}"`;
    });
  }
  // A URL parameter the controls cannot take is reported with the values it takes, and nothing runs.
  for (const [query, expected] of [
    ["page=text&seed=abc&colour=red", 'URL parameters: seed: expected an integer >= 0, got "abc"; colour: not a control of this page'],
    ["page=pixel-art&steps=500&batch=0&images=4", 'URL parameters: steps: expected an integer in [1, 100], got "500"; batch: expected an integer in [1, 16], got "0"; images: not a control of this page'],
  ]) {
    await check(`bad URL parameters ${query}`, async () => {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/?${query}&autorun=1`);
      await page.waitForSelector("body[data-state=error]", { timeout: 30_000 });
      const statusText = await page.textContent("#status");
      assert.equal(statusText, expected);
      await page.close();
      return `page says "${statusText}"`;
    });
  }
  await layoutPageCheck(browser, check, `http://127.0.0.1:${port}`, results);
  await hubPageCheck(browser, check);
  await threadsPageCheck(browser, check);
  await threadsAndWebGPU();
  console.log("per-step milliseconds, Chromium (onnxruntime-web, WASM, isolated page) vs Node.js (onnxruntime-node):");
  for (const r of timesTable) {
    const f = (t) => `transformer ${t.transformerMs.toFixed(2)}, scheduler ${t.schedulerMs.toFixed(2)}, guidance ${t.guidanceMs.toFixed(2)}`;
    console.log(`  case ${r.case} (${r.images} images): Chromium ${f(r.chromium)} | Node.js ${f(r.node)}`);
  }
  for (const [i, c] of cases.entries()) {
    const name = `case ${i + 1} ${JSON.stringify(c)}`;
    await check(name, async () => {
      const { page, statusText, inPage } = await runPage({ page: "pixel-art", ...c }, { width: 900, height: 560 }, 120_000);
      // The page's URL names (steps, batch, …) in the library's names.
      const inNode = await samplePixelArt({
        seed: c.seed, numInferenceSteps: c.steps, batchSize: c.batch, label: c.label, guidanceScale: c.guidance,
        truncationRate: c.truncation, mode: c.mode, timestepSpacing: c.spacing, strategy: c.strategy,
      });
      assert.deepEqual(inPage.tokens, Array.from(inNode.tokens), `${name}: page tokens differ from Node.js`);
      assert.deepEqual(inPage.matches, inNode.matches);
      if (i === 0) {
        mkdirSync(results, { recursive: true });
        await page.screenshot({ path: join(results, "web-demo.png"), fullPage: true });
      }
      await page.close();
      return `${inNode.tokens.length} tokens equal to Node.js; page says "${statusText}"`;
    });
  }
} finally {
  await pipe.release();
  await gpuBrowser.close();
  await browser.close();
  server.close();
  plainServer.close();
}
console.log(`screenshots: test-results/web-demo.png, test-results/web-text-to-image.png`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
