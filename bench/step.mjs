// npm run bench: one reverse step at the ITHQ size (K = 4097, N = 1024), t = 50, for the three token
// kinds of a chain (all masked: its start; two thirds masked; all unmasked: its end) at B = 1 and 4,
// reference and fast modes, WASM SIMD and plain-TypeScript kernels, on one thread (`step`) and split
// over two (`stepAsync` with a two-thread `createNodeStepThreadPool`; `--threads N` for another
// count), and the plain unfused implementation; median of several runs after a warm-up. The PyTorch baseline
// (tools/bench/torch_step.py, given the same tokens with --tokens) runs in the same session with the
// repo's torch 2.x (tools/python/.venv; see bench/torchPython.mjs for --torch-python) and the ratio
// is printed. `--json` prints one JSON object per row instead.
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { TorchGenerator, VQDiffusionScheduler, setKernelBackend, kernelBackend, initKernels } from "../dist/index.js";
import { createNodeStepThreadPool } from "../dist/node.js";
import { gumbelArgmaxPlain } from "../dist/oracles/gumbelArgmaxPlain.js";
import { posteriorPlain } from "../dist/oracles/posteriorPlain.js";
import { posteriorTransitions } from "../dist/posterior/pixelPosterior.js";
import { computeLogSchedule } from "../dist/schedule/logSchedule.js";
import { ithqInputs, K, N, TOKEN_KINDS } from "./inputs.mjs";
import { NO_TORCH, torchPython } from "./torchPython.mjs";

const asJson = process.argv.includes("--json");

const RUNS = Number(process.env.BENCH_RUNS ?? 9);
/** Steps of each mode and token kind, on one thread and on the pool, before the first row. */
const WARM_UP_STEPS = 8;
const threadsAt = process.argv.indexOf("--threads");
const THREADS = threadsAt >= 0 ? Number(process.argv[threadsAt + 1]) : 2;
const root = fileURLToPath(new URL("..", import.meta.url));
const torchScript = fileURLToPath(new URL("../tools/bench/torch_step.py", import.meta.url));
const python = torchPython();
let torchVersion = null;

function median(f, runs = RUNS) {
  f();
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function medianAsync(f, runs = RUNS) {
  await f();
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function torchMs(B, t, tokens) {
  if (python === null) return null;
  try {
    const args = [torchScript, "--batch", String(B), "--t", String(t), "--tokens", tokens, "--runs", String(RUNS), "--json"];
    const res = JSON.parse(execFileSync(python, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
    torchVersion = res.torch;
    return res.median_ms;
  } catch {
    return null;
  }
}

// Memory first, in child processes, while this process is still small: Linux carries the peak RSS
// of the parent over to a child it forks, which would hide the child's own growth.
const memoryLines = [];
for (const mode of ["reference", "fast"]) {
  for (const threads of [1, THREADS]) {
    const out = execFileSync(process.execPath, ["bench/stepMemory.mjs", mode, String(threads)], { cwd: root, encoding: "utf8" });
    const { peakGrowthMB } = JSON.parse(out);
    memoryLines.push(`peak RSS growth over 20 steps (${mode}, B = 1, ${threads} thread${threads > 1 ? "s" : ""}): ${peakGrowthMB.toFixed(1)} MB (one (B, K, N) float32 tensor: 16 MB)`);
  }
}

await initKernels();
const pool = createNodeStepThreadPool({ threads: THREADS });
const scheduler = new VQDiffusionScheduler({ numVecClasses: K });
const rows = [];
const t = 50;
// Warm-up before any row: a fresh helper thread compiles its code as it runs, and its first ten or
// so steps take up to 8× a warm one (ITHQ size, B = 1: 127, 29–63, then 15 ms); one warm-up step per
// row would leave the first rows' 2T columns measuring that.
for (const kind of TOKEN_KINDS) {
  const { modelOutput, sample } = ithqInputs(1, kind);
  for (const mode of ["reference", "fast"]) {
    const g = new TorchGenerator().manualSeed(0);
    for (let i = 0; i < WARM_UP_STEPS; i++) {
      await scheduler.stepAsync(modelOutput, t, sample, { generator: g, mode, threads: pool });
      scheduler.step(modelOutput, t, sample, { generator: g, mode });
    }
  }
}
for (const B of [1, 4]) {
  for (const tokens of TOKEN_KINDS) {
    const { modelOutput, sample } = ithqInputs(B, tokens);
    const row = { B, t, tokens, torch: torchMs(B, t, tokens) };
    for (const mode of ["reference", "fast"]) {
      const g = new TorchGenerator().manualSeed(0);
      row[`wasm ${mode} ${THREADS}T`] = await medianAsync(() => scheduler.stepAsync(modelOutput, t, sample, { generator: g, mode, threads: pool }));
    }
    for (const backend of ["wasm", "js"]) {
      setKernelBackend(backend);
      if (kernelBackend() !== backend) continue;
      for (const mode of ["reference", "fast"]) {
        const g = new TorchGenerator().manualSeed(0);
        row[`${backend} ${mode}`] = median(() => scheduler.step(modelOutput, t, sample, { generator: g, mode }));
      }
    }
    setKernelBackend("auto");
    const g = new TorchGenerator().manualSeed(0);
    // The plain, unfused path (posterior materialised in float64, then the draw): the tests' reference.
    const transitions = posteriorTransitions(computeLogSchedule(scheduler.config), t, t - 1, K);
    row["plain (unfused)"] = median(() => {
      const logits = t === 0 ? modelOutput.data : posteriorPlain(modelOutput.data, sample.data, B, K, N, transitions);
      gumbelArgmaxPlain(logits, B, t === 0 ? K - 1 : K, N, g);
    }, 3);
    rows.push(row);
  }
}

await pool.close();
const columns = ["wasm reference", `wasm reference ${THREADS}T`, "wasm fast", `wasm fast ${THREADS}T`, "js reference", "js fast", "plain (unfused)"];
const ratioColumns = ["wasm reference", `wasm reference ${THREADS}T`, "wasm fast", `wasm fast ${THREADS}T`];
const fmt = (v) => (v == null ? "-" : v.toFixed(1));
const cpu = cpus()[0]?.model ?? "unknown CPU";
if (asJson) {
  for (const r of rows) {
    const ratio = (k) => (r.torch == null || r[k] == null ? null : r.torch / r[k]);
    console.log(JSON.stringify({ ...r, torchVersion, ratioReference: ratio("wasm reference"), ratioFast: ratio("wasm fast"),
      ratioReferenceThreads: ratio(`wasm reference ${THREADS}T`), ratioFastThreads: ratio(`wasm fast ${THREADS}T`), threads: THREADS, K, N, runs: RUNS, cpu, date: new Date().toISOString() }));
  }
} else {
  console.log(`one step, K = ${K}, N = ${N}, t = ${t}, median of ${RUNS} runs (ms); PyTorch ${torchVersion ?? "-"} (2 threads); ${THREADS}T = split over ${THREADS} threads (stepAsync); ratio = PyTorch ÷ ours, same session; ${cpu}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`| B | tokens | PyTorch | ${columns.join(" | ")} | ${ratioColumns.map((c) => `ratio ${c.replace("wasm ", "")}`).join(" | ")} |`);
  console.log(`| --- | --- | --- | ${columns.map(() => "---").join(" | ")} | ${ratioColumns.map(() => "---").join(" | ")} |`);
  for (const r of rows) {
    const ratio = (k) => (r.torch == null || r[k] == null ? "-" : `${(r.torch / r[k]).toFixed(1)}×`);
    console.log(`| ${r.B} | ${r.tokens} | ${fmt(r.torch)} | ${columns.map((c) => fmt(r[c])).join(" | ")} | ${ratioColumns.map(ratio).join(" | ")} |`);
  }
  if (rows[0].torch == null) console.log(NO_TORCH);
  console.log(memoryLines.join("\n"));
}
