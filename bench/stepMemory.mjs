// Peak resident memory growth over 20 steps at the ITHQ size (B = 1), beyond the inputs.
// Run by bench/step.mjs in a fresh process: node bench/stepMemory.mjs <reference|fast> [threads]
// (threads > 1: stepAsync split over a createNodeStepThreadPool of that many threads).
import { TorchGenerator, VQDiffusionScheduler } from "../dist/index.js";
import { createNodeStepThreadPool } from "../dist/node.js";
import { ithqInputs, K } from "./inputs.mjs";

const mode = process.argv[2] ?? "reference";
const threads = Number(process.argv[3] ?? 1);
const pool = threads > 1 ? createNodeStepThreadPool({ threads }) : undefined;
const { modelOutput, sample } = ithqInputs(1);
const scheduler = new VQDiffusionScheduler({ numVecClasses: K });
const generator = new TorchGenerator().manualSeed(1);
const before = process.resourceUsage().maxRSS;
let x = sample;
for (let i = 0; i < 20; i++) {
  const options = { generator, mode };
  x = (pool ? await scheduler.stepAsync(modelOutput, 60 - i, x, { ...options, threads: pool }) : scheduler.step(modelOutput, 60 - i, x, options)).prevSample;
}
const after = process.resourceUsage().maxRSS;
await pool?.close();
console.log(JSON.stringify({ mode, threads, peakGrowthMB: (after - before) / 1024 }));
