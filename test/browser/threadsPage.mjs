// The page test's threads case (called by run.mjs): in headless Chromium, the scheduler's step split
// over Web Workers (`StepThreadPool` + `serveStepWorker`, the core entry bundled by esbuild) on a
// cross-origin isolated page gives the tokens and the next draw of the one-thread step, in the page
// and in Node.js, for 2 and 3 threads, both modes, the three token kinds; on a plain page (no
// SharedArrayBuffer) the pool starts no worker and the step runs on one thread with the same result.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { TorchGenerator, VQDiffusionScheduler } from "../../dist/index.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));

// Inputs built the same way in the page and here: log_softmax(8·u) of a seeded generator's uniforms,
// tokens of a chain's three kinds; steps t = 30, 1, 0 on one generator, then its next draw.
const CHAIN = `
export const K = 129, N = 203, B = 2;
export function inputs(TorchGenerator, kind) {
  const u = new TorchGenerator().manualSeed(4).rand([B * (K - 1) * N]).data;
  const data = new Float32Array(u.length);
  for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) {
    const at = (c) => (b * (K - 1) + c) * N + n;
    let m = -Infinity, z = 0;
    for (let c = 0; c < K - 1; c++) m = Math.max(m, 8 * u[at(c)]);
    for (let c = 0; c < K - 1; c++) z += Math.exp(8 * u[at(c)] - m);
    for (let c = 0; c < K - 1; c++) data[at(c)] = 8 * u[at(c)] - m - Math.log(z);
  }
  const tokens = new Int32Array(B * N).map((_, i) => kind === "masked" ? K - 1 : kind === "mixed" ? (i % 3 === 0 ? (i * 7) % (K - 1) : K - 1) : (2654435761 * i) % (K - 1));
  return { modelOutput: { data, dims: [B, K - 1, N] }, sample: { data: tokens, dims: [B, N] } };
}
export async function chain(scheduler, TorchGenerator, kind, mode, threads) {
  const { modelOutput, sample } = inputs(TorchGenerator, kind);
  const generator = new TorchGenerator().manualSeed(11);
  const out = [];
  for (const t of [30, 1, 0]) {
    const r = threads ? await scheduler.stepAsync(modelOutput, t, sample, { generator, mode, threads }) : scheduler.step(modelOutput, t, sample, { generator, mode });
    out.push(Array.from(r.prevSample.data));
  }
  return { out, next: generator.nextUint32() };
}
`;

const PAGE = `
import { initKernels, StepThreadPool, TorchGenerator, VQDiffusionScheduler } from "./dist/index.js";
import { chain, K } from "./chain.js";
window.runThreads = async () => {
  const backend = await initKernels();
  const scheduler = new VQDiffusionScheduler({ numVecClasses: K });
  const results = { backend, isolated: self.crossOriginIsolated, helpers: {}, runs: {} };
  for (const threads of [2, 3]) {
    const pool = new StepThreadPool({ threads, createWorker: () => new Worker("/threads-worker.js", { type: "module" }) });
    results.helpers[threads] = pool.helperCount;
    for (const kind of ["masked", "mixed", "unmasked"]) for (const mode of ["reference", "fast"]) {
      results.runs[kind + " " + mode + " 1"] ??= await chain(scheduler, TorchGenerator, kind, mode, null);
      results.runs[kind + " " + mode + " " + threads] = await chain(scheduler, TorchGenerator, kind, mode, pool);
    }
    await pool.close();
  }
  return results;
};
window.threadsReady = true;
`;

const WORKER = `
import { serveStepWorker } from "./dist/index.js";
serveStepWorker();
`;

async function bundle(contents, name) {
  const result = await build({
    stdin: { contents, resolveDir: repo, sourcefile: name }, bundle: true, format: "esm", platform: "browser", write: false, logLevel: "silent",
    plugins: [{ name: "chain", setup: (b) => {
      b.onResolve({ filter: /^\.\/chain\.js$/ }, () => ({ path: "chain", namespace: "chain" }));
      b.onLoad({ filter: /.*/, namespace: "chain" }, () => ({ contents: CHAIN, loader: "js" }));
    } }],
  });
  return result.outputFiles[0].text;
}

/** Runs the threads case on an isolated and on a plain page; `check(name, body)` counts it as run.mjs does. */
export async function threadsPageCheck(browser, check) {
  const page = await bundle(PAGE, "threads-page.js");
  const worker = await bundle(WORKER, "threads-worker.js");
  const chainModule = await import(`data:text/javascript,${encodeURIComponent(CHAIN)}`);
  const scheduler = new VQDiffusionScheduler({ numVecClasses: chainModule.K });
  for (const isolated of [true, false]) {
    await check(`the step split over Web Workers (${isolated ? "isolated page" : "plain page: one thread"})`, async () => {
      const headers = isolated ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } : {};
      const server = createServer((req, res) => {
        const path = new URL(req.url, "http://x").pathname;
        const body = path === "/" ? '<!doctype html><script type="module" src="/threads-page.js"></script>' : path === "/threads-page.js" ? page : path === "/threads-worker.js" ? worker : null;
        if (body === null) return void res.writeHead(404).end();
        res.writeHead(200, { "content-type": path === "/" ? "text/html" : "text/javascript", ...headers }).end(body);
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      const tab = await browser.newPage();
      try {
        const errors = [];
        tab.on("pageerror", (e) => errors.push(e.message));
        await tab.goto(`http://127.0.0.1:${server.address().port}/`);
        await tab.waitForFunction(() => window.threadsReady === true, null, { timeout: 60_000 });
        const got = await tab.evaluate(() => window.runThreads());
        assert.deepEqual(errors, []);
        assert.equal(got.isolated, isolated);
        assert.equal(got.backend, "wasm");
        assert.deepEqual(got.helpers, isolated ? { 2: 1, 3: 2 } : { 2: 0, 3: 0 });
        let compared = 0;
        for (const kind of ["masked", "mixed", "unmasked"]) for (const mode of ["reference", "fast"]) {
          const inNode = await chainModule.chain(scheduler, TorchGenerator, kind, mode, null);
          for (const threads of [1, 2, 3]) {
            assert.deepEqual(got.runs[`${kind} ${mode} ${threads}`], inNode, `${kind} tokens, ${mode} mode, ${threads} threads: page differs from Node.js's one-thread step`);
            compared++;
          }
        }
        return `${compared} chains (1, 2, 3 threads × 2 modes × 3 token kinds) equal to Node.js's one-thread step, tokens and next draw; helpers started: ${JSON.stringify(got.helpers)}`;
      } finally {
        await tab.close();
        server.close();
      }
    });
  }
}
