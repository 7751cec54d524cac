// The guidance pass (guidance, renormalisation, truncation, clamp) on one thread against the same
// pass split over a StepThreadPool (src/sampling/threadedGuidance.ts), on the Fashion-MNIST model's
// real outputs (every 10th step of a 100-step generation at guidance 5, 16 images; smaller batches
// are its first B images of each half), for B = 1 to 16: wall-clock ms per step (the split's cost
// is its messages, which CPU time of this thread would not show), median of --runs, the two
// alternated; and whether the bits agree. The sampler splits from SPLIT_GUIDANCE_MIN_VALUES values
// (B·C·N) up: this table is where that threshold comes from.
//
//   npm run build && node bench/guidanceSplit.mjs [--pool 2] [--rate 1] [--runs 15]
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { captureGuidedOutputs } from "./capturedOutputs.mjs";
import { createNodeStepThreadPool, VQDiffusionPipeline } from "../dist/node.js";
import { guideTruncateClamp } from "../dist/sampling/fusedGuidance.js";
import { SPLIT_GUIDANCE_MIN_VALUES, threadedGuideTruncateClamp } from "../dist/sampling/threadedGuidance.js";

const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const threads = Number(flag("pool", "2"));
const rate = Number(flag("rate", "1"));
const runs = Number(flag("runs", "15"));
const root = fileURLToPath(new URL("..", import.meta.url));
const pipe = await VQDiffusionPipeline.fromPretrained(`${root}/models/fashion-mnist`, { sessionOptions: { intraOpNumThreads: 1 } });
const { numVecClasses: K, numLatentPixels: N } = pipe.config;
const C = K - 1;
const full = 16;
const outputs = await captureGuidedOutputs(pipe, full);
const pool = createNodeStepThreadPool({ threads });

/** The first B images of each half of a (2·16, C, N) output. */
const firstImages = (o, B) => {
  const out = new Float32Array(2 * B * C * N);
  out.set(o.subarray(0, B * C * N));
  out.set(o.subarray(full * C * N, (full + B) * C * N), B * C * N);
  return out;
};
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];

console.log(`guidance pass per step (wall ms, median of ${runs}), Fashion-MNIST outputs (C = ${C}, N = ${N}), guidance 5, rate ${rate}: one thread against a ${threads}-thread pool; ${cpus()[0]?.model}, ${cpus().length} cores, ${new Date().toISOString()}`);
console.log(`the sampler splits from ${SPLIT_GUIDANCE_MIN_VALUES} values, B = ${Math.ceil(SPLIT_GUIDANCE_MIN_VALUES / (C * N))} here`);
console.log("| B | one thread | split | one ÷ split | equal bits |");
console.log("| --- | --- | --- | --- | --- |");
for (const B of [1, 2, 3, 4, 8, 16]) {
  const inputs = outputs.map((o) => firstImages(o, B));
  const into = new Float32Array(new SharedArrayBuffer(4 * B * C * N));
  let same = true;
  for (const o of inputs) {
    const a = guideTruncateClamp(o, B, C, N, true, 5, rate, undefined, "s");
    const b = await threadedGuideTruncateClamp(o, B, C, N, true, 5, rate, undefined, "s", pool, into);
    same &&= Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer.slice(b.byteOffset, b.byteOffset + 4 * b.length))) === 0;
  }
  const one = [];
  const split = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    for (const o of inputs) guideTruncateClamp(o, B, C, N, true, 5, rate, undefined, "s");
    one.push((performance.now() - t) / inputs.length);
    t = performance.now();
    for (const o of inputs) await threadedGuideTruncateClamp(o, B, C, N, true, 5, rate, undefined, "s", pool, into);
    split.push((performance.now() - t) / inputs.length);
  }
  const [a, b] = [median(one), median(split)];
  console.log(`| ${B} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(2)}× | ${same ? "yes" : "NO"} |`);
}
await pool.close();
