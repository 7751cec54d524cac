// node bench/stepSplit.mjs [--mode reference|fast] [--tokens masked|mixed|unmasked] [--steps 30] [--shared]:
// where a step split over two threads spends its time, at the ITHQ size (K = 4097, N = 1024), B = 1,
// t = 50. Three ways, median ms per step after 3 warm-up steps:
//   1 thread      scheduler.stepAsync without a pool (= step);
//   2 threads     with a two-thread createNodeStepThreadPool;
//   split, 1 core the same two shares on one thread: a stand-in helper answers the posted share on
//                 the calling thread after the calling thread's own (answerStepTask, as the worker
//                 does), so each share is timed alone, without a second core. Its total minus
//                 "1 thread" is what the split adds (copies into shared memory and into each
//                 thread's WebAssembly memory, the stream walked twice), whatever the cores.
// --shared hands in the model output already in a SharedArrayBuffer (read in place, no copy).
import { cpus } from "node:os";
import { TorchGenerator, VQDiffusionScheduler, StepThreadPool, initKernels } from "../dist/index.js";
import { createNodeStepThreadPool } from "../dist/node.js";
import { answerStepTask } from "../dist/kernels/threads/stepTask.js";
import { ithqInputs, K } from "./inputs.mjs";

const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const mode = flag("mode", "reference");
const kind = flag("tokens", "masked");
const steps = Number(flag("steps", "30"));
const shared = process.argv.includes("--shared");

await initKernels();
const made = ithqInputs(1, kind);
const modelOutput = shared ? { data: new Float32Array(new SharedArrayBuffer(made.modelOutput.data.byteLength)), dims: made.modelOutput.dims } : made.modelOutput;
if (shared) modelOutput.data.set(made.modelOutput.data);
const scheduler = new VQDiffusionScheduler({ numVecClasses: K });

async function medianStep(threads) {
  const generator = new TorchGenerator().manualSeed(0);
  const run = () => scheduler.stepAsync(modelOutput, 50, made.sample, { generator, mode, threads });
  for (let i = 0; i < 3; i++) await run();
  const times = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

// The stand-in helper: answers on this thread, after the calling thread's share (setImmediate).
let helperMs = [];
const standIn = () => {
  const listeners = [];
  return {
    postMessage(task) {
      setImmediate(() => {
        const t0 = performance.now();
        const reply = answerStepTask(task);
        helperMs.push(performance.now() - t0);
        for (const listener of listeners) listener({ data: reply });
      });
    },
    addEventListener(type, listener) {
      if (type === "message") listeners.push(listener);
    },
    terminate() {},
  };
};

const one = await medianStep(undefined);
const pool = createNodeStepThreadPool({ threads: 2 });
const two = await medianStep(pool);
await pool.close();
const splitPool = new StepThreadPool({ threads: 2, createWorker: standIn });
const split = await medianStep(splitPool);
helperMs = helperMs.slice(3).sort((a, b) => a - b);
const helper = helperMs[helperMs.length >> 1];
await splitPool.close();

console.log(`one step, ITHQ size, B = 1, t = 50, ${kind} tokens, ${mode} mode, model output ${shared ? "in a SharedArrayBuffer" : "a plain Float32Array"}; median of ${steps} (ms); ${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${new Date().toISOString()}`);
console.log("| 1 thread | 2 threads | split, 1 core: total | its helper share | its calling-thread share (copy included) | added by the split |");
console.log("| --- | --- | --- | --- | --- | --- |");
console.log(`| ${one.toFixed(2)} | ${two.toFixed(2)} | ${split.toFixed(2)} | ${helper.toFixed(2)} | ${(split - helper).toFixed(2)} | ${(split - one).toFixed(2)} |`);
