// Peak resident memory growth over 20 steps at the ITHQ size (B = 1), beyond the inputs.
// Run by bench/step.mjs in a fresh process: node bench/stepMemory.mjs <reference|fast>
import { TorchGenerator, VQDiffusionScheduler } from "../dist/index.js";
import { ithqInputs, K } from "./inputs.mjs";

const mode = process.argv[2] ?? "reference";
const { modelOutput, sample } = ithqInputs(1);
const scheduler = new VQDiffusionScheduler({ numVecClasses: K });
const generator = new TorchGenerator().manualSeed(1);
const before = process.resourceUsage().maxRSS;
let x = sample;
for (let i = 0; i < 20; i++) x = scheduler.step(modelOutput, 60 - i, x, { generator, mode }).prevSample;
const after = process.resourceUsage().maxRSS;
console.log(JSON.stringify({ mode, peakGrowthMB: (after - before) / 1024 }));
