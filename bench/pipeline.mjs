// npm run bench -- pipeline: whole generations with the Fashion-MNIST model (models/fashion-mnist),
// 100 steps, guidance 5, at B = 1 and 16 images, for our pipeline (onnxruntime-node) and for diffusers'
// own VQDiffusionPipeline on the checkpoint it was exported from, models/fashion-mnist-diffusers
// (tools/bench/torch_pipeline.py, same thread count; torch 2.x from tools/python/.venv, or
// --torch-python PATH), in the same run: images per second, milliseconds per step split into transformer,
// guidance/truncation and scheduler, text encoding and decoding, and each process's peak memory.
// Each measurement runs in its own child process, so that peak memory is its own.
//
//   node bench/pipeline.mjs [--steps 100] [--threads 2] [--images 1,16] [--guidance 5] [--spacing linspace]
//                           [--torch-steps n] [--torch-python PATH] [--no-torch] [--model DIR] [--pool 2] [--json]
// --threads is onnxruntime's (and PyTorch's) thread count; --pool N also gives our generation a
// StepThreadPool of N threads (createNodeStepThreadPool), over which the step and, from 4 images,
// the guidance pass are split (default: none, every stage but the transformer on one thread).
// --model gives our side another conversion of the same weights (default models/fashion-mnist; e.g. the
// int8 one of `vq-diffusion convert --model ./models/fashion-mnist-diffusers --quantize int8 --out DIR`); PyTorch's side always runs the float32 weights.
// --spacing sets our timestep spacing (default: the reference's, as PyTorch's loop); --torch-steps
// gives PyTorch another step count (equal quality: each at its own fewest steps, bench/qualityFashion.mjs).
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NO_TORCH, torchPython } from "./torchPython.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const steps = Number(flag("steps", "100"));
const threads = Number(flag("threads", "2"));
const guidance = Number(flag("guidance", "5"));
const spacing = flag("spacing", undefined);
const torchSteps = Number(flag("torch-steps", String(steps)));
const imageCounts = flag("images", "1,16").split(",").map(Number);
const modelDir = resolve(root, flag("model", "models/fashion-mnist"));
const asJson = process.argv.includes("--json");
const noTorch = process.argv.includes("--no-torch");
const poolThreads = Number(flag("pool", "0"));

if (process.argv[2] === "--child") {
  // One generation in this process: warm-up run (1 step), then the measured run.
  const images = Number(process.argv[3]);
  const childFlag = (name) => process.argv[process.argv.indexOf(`--${name}`) + 1];
  const { TorchGenerator } = await import("../dist/index.js");
  const { VQDiffusionPipeline, createNodeStepThreadPool } = await import("../dist/node.js");
  const pipe = await VQDiffusionPipeline.fromPretrained(childFlag("model"), {
    sessionOptions: { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", executionMode: "sequential" },
  });
  const pool = Number(childFlag("pool")) > 0 ? createNodeStepThreadPool({ threads: Number(childFlag("pool")) }) : undefined;
  const options = { prompt: "ankle boot", numImagesPerPrompt: images, guidanceScale: Number(childFlag("guidance")), timestepSpacing: childFlag("spacing") || undefined, threads: pool };
  await pipe.generate({ ...options, numInferenceSteps: 1, generator: new TorchGenerator().manualSeed(1) });
  const started = performance.now();
  const { timings } = await pipe.generate({ ...options, numInferenceSteps: steps, generator: new TorchGenerator().manualSeed(0) });
  const total = performance.now() - started;
  await pool?.close();
  console.log(JSON.stringify({
    images, steps, total_ms: total, images_per_second: images / (total / 1000),
    ms_per_step: { transformer: timings.transformerMs / steps, guidance: timings.guidanceMs / steps, scheduler: timings.schedulerMs / steps },
    text_encoder_ms: timings.textEncoderMs, decode_ms: timings.decodeMs, peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }));
  process.exit(0);
}

const rows = [];
for (const images of imageCounts) {
  const childArgs = ["--child", String(images), "--steps", String(steps), "--threads", String(threads), "--guidance", String(guidance), "--spacing", spacing ?? "", "--model", modelDir, "--pool", String(poolThreads)];
  const ours = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...childArgs], { cwd: root, encoding: "utf8" }));
  let torch = null;
  try {
    const python = noTorch ? null : torchPython();
    if (python !== null) torch = JSON.parse(execFileSync(python, ["tools/bench/torch_pipeline.py", "--images", String(images), "--steps", String(torchSteps), "--guidance", String(guidance), "--threads", String(threads), "--json"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  } catch (e) {
    console.error(`PyTorch side failed: ${String(e.stderr ?? e.message).trim().split("\n").pop()}`);
    torch = null;
  }
  rows.push({ images, ours, torch });
}

const cpu = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores`;
if (asJson) {
  for (const r of rows) console.log(JSON.stringify({ ...r, cpu, date: new Date().toISOString() }));
} else {
  const stepsText = torchSteps === steps ? `${steps} steps` : `ours ${steps} steps, PyTorch ${torchSteps}`;
  console.log(`whole generations, Fashion-MNIST model${flag("model", null) === null ? "" : ` (ours: ${flag("model", null)})`}, ${stepsText}, guidance ${guidance}, our spacing ${spacing ?? "the reference's"}, ${threads} threads${poolThreads > 0 ? `, ours with a ${poolThreads}-thread StepThreadPool` : ""}; ${cpu}, ${new Date().toISOString().slice(0, 10)}`);
  console.log("| B | implementation | images/s | transformer ms/step | guidance+truncation ms/step | scheduler ms/step | text encoder ms | decode ms | peak RSS MB |");
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const line = (B, name, r) =>
    console.log(`| ${B} | ${name} | ${r.images_per_second.toFixed(2)} | ${r.ms_per_step.transformer.toFixed(2)} | ${r.ms_per_step.guidance.toFixed(2)} | ${r.ms_per_step.scheduler.toFixed(2)} | ${r.text_encoder_ms.toFixed(1)} | ${r.decode_ms.toFixed(1)} | ${r.peak_rss_mb.toFixed(0)} |`);
  for (const r of rows) {
    line(r.images, "vq-diffusion (onnxruntime-node)", r.ours);
    if (r.torch) line(r.images, `${r.torch.implementation ?? "PyTorch"} (PyTorch ${r.torch.torch})`, r.torch);
  }
  for (const r of rows) if (r.torch) console.log(`B = ${r.images}: ours ÷ PyTorch images per second = ${(r.ours.images_per_second / r.torch.images_per_second).toFixed(2)}×`);
  if (!noTorch && rows.some((r) => !r.torch)) console.log(NO_TORCH);
}
