// npm run test:browser: the built demo page (examples/web/dist) in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core): a fixed seed sampled in the page must give the same
// tokens as the same run in Node.js, and a screenshot is saved to test-results/web-demo.png.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { samplePixelArt } from "../../dist/demo/index.js";

const root = fileURLToPath(new URL("../../examples/web/dist/", import.meta.url));
const results = fileURLToPath(new URL("../../test-results/", import.meta.url));
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".wasm": "application/wasm" };

if (!existsSync(join(root, "index.html"))) throw new Error(`${root}index.html: expected the built page (vite build examples/web), got nothing`);
if (!existsSync(executablePath)) throw new Error(`${executablePath}: expected Chromium (apt-get install -y chromium), got nothing`);

const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  const file = join(root, path.endsWith("/") ? path + "index.html" : path);
  if (!file.startsWith(root) || !existsSync(file)) {
    res.writeHead(404).end("not found");
    return;
  }
  res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
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
let passed = 0;
let failed = 0;
try {
  for (const [i, c] of cases.entries()) {
    const name = `case ${i + 1} ${JSON.stringify(c)}`;
    try {
      const page = await browser.newPage({ viewport: { width: 900, height: 560 } });
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const query = new URLSearchParams({ ...Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)])), autorun: "1" });
      await page.goto(`http://127.0.0.1:${port}/?${query}`);
      await page.waitForSelector("body[data-state=done], body[data-state=error]", { timeout: 120_000 });
      const state = await page.evaluate(() => document.body.dataset.state);
      const statusText = await page.textContent("#status");
      assert.equal(state, "done", `page state: ${statusText}; errors: ${errors.join("; ")}`);
      const inPage = await page.evaluate(() => window.vqdResult);
      const inNode = await samplePixelArt({ ...c, timestepSpacing: c.spacing });
      assert.deepEqual(inPage.tokens, Array.from(inNode.tokens), `${name}: page tokens differ from Node.js`);
      assert.deepEqual(inPage.matches, inNode.matches);
      if (i === 0) {
        mkdirSync(results, { recursive: true });
        await page.screenshot({ path: join(results, "web-demo.png"), fullPage: true });
      }
      console.log(`ok ${name}: ${inNode.tokens.length} tokens equal to Node.js; page says "${statusText}"`);
      passed++;
      await page.close();
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message}`);
      failed++;
    }
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`screenshot: test-results/web-demo.png`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
