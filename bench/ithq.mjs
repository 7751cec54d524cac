// npm run bench -- ithq: microsoft/vq-diffusion-ithq's architecture at its full size (transformer of
// 1.36 billion parameters, K = 4097, N = 32 × 32, L = 77), with random weights: a guided generation
// (guidance 5, B = 1) of a few steps by our pipeline (vq-diffusion/node, onnxruntime-node) on each
// exported folder asked for (fp32, fp16, int8), and by diffusers' own VQDiffusionPipeline (PyTorch,
// float32, inference_mode, tools/bench/diffusers_ithq.py in tools/python/.venv) on the checkpoint
// they were exported from, in the same run, same thread count. Each side runs in its own child
// process, one after the other (never two copies of the weights at once), so each peak RSS is its own.
//
//   node bench/ithq.mjs --data DIR [--dtypes fp32,fp16,int8] [--steps 2] [--threads 2] [--json]
//        [--no-diffusers] [--opt-level all|extended|basic|disabled] [--no-arena] [--no-mem-pattern]
//
// DIR holds `checkpoint/` (diffusers' format: tools/fixtures/random_checkpoint.py --preset ithq) and one
// converted folder per dtype (`fp32/`, `fp16/`, `int8/`: `node dist/cli/bin.js convert --model
// DIR/checkpoint --out DIR/fp32` [--dtype fp16] [--quantize int8]); `--checkpoint` and `--<dtype> FOLDER` override single paths. The README
// section "Run microsoft/vq-diffusion-ithq" says how to make them (about 20 GB of disk for all three).
//
// Prints per dtype: load time; ms per step for the transformer (the guided batch of 2), guidance +
// truncation and the scheduler; text encoding and decoding; peak RSS; the ratio of diffusers' ms per
// step to ours; and how many of the final tokens equal diffusers' (same seed: equal in fp32, a measure
// of the loss in fp16/int8). Not part of npm test.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const steps = Number(flag("steps", "2"));
const threads = Number(flag("threads", "2"));
const prompt = flag("prompt", "a photo of a red fox in the snow");
const optLevel = flag("opt-level", "all");
const arena = !process.argv.includes("--no-arena");
const memPattern = !process.argv.includes("--no-mem-pattern");
const asJson = process.argv.includes("--json");

if (process.argv[2] === "--child") {
  // One generation in this process: load, then the measured run (no warm-up: at this size a
  // warm-up step costs as much as a measured one; both sides are measured cold alike).
  const folder = process.argv[3];
  const { TorchGenerator } = await import("../dist/index.js");
  const { VQDiffusionPipeline } = await import("../dist/node.js");
  let started = performance.now();
  const pipe = await VQDiffusionPipeline.fromPretrained(folder, {
    sessionOptions: {
      intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: optLevel, executionMode: "sequential",
      enableCpuMemArena: arena, enableMemPattern: memPattern,
    },
  });
  const loadMs = performance.now() - started;
  const rssAfterLoad = process.memoryUsage().rss / 2 ** 20;
  const perStep = [];
  let last = 0;
  started = performance.now();
  const { timings, tokens } = await pipe.generate({
    prompt, numInferenceSteps: steps, guidanceScale: 5, generator: new TorchGenerator().manualSeed(0),
    onStep: ({ timings: t }) => {
      perStep.push(Math.round(t.transformerMs - last));
      last = t.transformerMs;
    },
  });
  const total = performance.now() - started;
  console.log(JSON.stringify({
    load_ms: loadMs, total_ms: total,
    ms_per_step: { transformer: timings.transformerMs / steps, guidance: timings.guidanceMs / steps, scheduler: timings.schedulerMs / steps },
    transformer_ms_each_step: perStep,
    text_encoder_ms: timings.textEncoderMs, decode_ms: timings.decodeMs,
    rss_after_load_mb: rssAfterLoad, peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    tokens: Array.from(tokens.data),
  }));
  process.exit(0);
}

const data = flag("data", join(root, "out", "ithq"));
const checkpoint = resolve(flag("checkpoint", join(data, "checkpoint")));
const dtypes = flag("dtypes", "fp32,fp16,int8").split(",").filter(Boolean);
const python = join(root, "tools", "export", ".venv", "bin", "python");

const run = (command, args) => JSON.parse(execFileSync(command, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 2 ** 26 }).trim().split("\n").pop());

const rows = [];
let diffusers = null;
if (!process.argv.includes("--no-diffusers")) {
  if (!existsSync(python)) throw new Error(`${python}: no such file (run bash tools/python/setup.sh first, or pass --no-diffusers)`);
  if (!existsSync(join(checkpoint, "model_index.json"))) throw new Error(`--checkpoint: expected a diffusers checkpoint folder holding model_index.json, got ${checkpoint}`);
  diffusers = run(python, ["tools/bench/diffusers_ithq.py", "--model", checkpoint, "--prompt", prompt, "--steps", String(steps), "--threads", String(threads), "--json", "--tokens"]);
}
for (const dtype of dtypes) {
  const folder = resolve(flag(dtype, join(data, dtype)));
  if (!existsSync(join(folder, "model_index.json"))) {
    console.error(`(skipping ${dtype}: no exported folder at ${folder})`);
    continue;
  }
  rows.push({ dtype, folder, ...run(process.execPath, [fileURLToPath(import.meta.url), "--child", folder, "--steps", String(steps), "--threads", String(threads), "--prompt", prompt, "--opt-level", optLevel, ...(arena ? [] : ["--no-arena"]), ...(memPattern ? [] : ["--no-mem-pattern"])]) });
}

const agree = (a, b) => a.filter((v, i) => v === b[i]).length;
const cpu = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores`;
const date = new Date().toISOString();
if (asJson) {
  const strip = ({ tokens, ...rest }) => rest;
  for (const r of rows) console.log(JSON.stringify({ ...strip(r), tokens_equal_to_diffusers: diffusers ? agree(r.tokens, diffusers.tokens) : null, cpu, date }));
  if (diffusers) console.log(JSON.stringify({ dtype: "diffusers", ...strip(diffusers), cpu, date }));
} else {
  const f = (v, d = 0) => v.toFixed(d);
  console.log(`ITHQ-size guided generation (guidance 5, B = 1, ${steps} steps), ${threads} threads, session options: graph optimisation ${optLevel}, arena ${arena ? "on" : "off"}, memory pattern ${memPattern ? "on" : "off"}; ${cpu}; ${date}`);
  console.log("| implementation | load s | transformer ms/step | guidance+truncation ms/step | scheduler ms/step | text encoder ms | decode ms | peak RSS MB | diffusers ms/step ÷ ours | tokens = diffusers' |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const stepMs = (r) => r.ms_per_step.transformer + r.ms_per_step.guidance + r.ms_per_step.scheduler;
  const line = (name, r, ratio, same) =>
    console.log(`| ${name} | ${f(r.load_ms / 1000, 1)} | ${f(r.ms_per_step.transformer)} | ${f(r.ms_per_step.guidance, 1)} | ${f(r.ms_per_step.scheduler, 1)} | ${f(r.text_encoder_ms)} | ${f(r.decode_ms)} | ${f(r.peak_rss_mb)} | ${ratio} | ${same} |`);
  for (const r of rows) {
    const ratio = diffusers ? `${(stepMs(diffusers) / stepMs(r)).toFixed(2)}×` : "–";
    const same = diffusers ? `${agree(r.tokens, diffusers.tokens)} / ${r.tokens.length}` : "–";
    line(`vq-diffusion ${r.dtype} (onnxruntime-node)`, r, ratio, same);
  }
  if (diffusers) line(diffusers.implementation, diffusers, "1.00×", "–");
  for (const r of rows) console.log(`${r.dtype}: transformer ms in each step: ${r.transformer_ms_each_step.join(", ")}; RSS after load ${f(r.rss_after_load_mb)} MB`);
}
