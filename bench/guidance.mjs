// Guidance + renormalisation + truncation + clamp, per step, on the Fashion-MNIST model's real
// outputs: the fused pass the sampler runs (src/sampling/fusedGuidance.ts) against the plain
// composition it replaced (guide, truncated, clampInPlace), paired in one process on the same
// outputs (captured every 10th step of a 100-step guided generation), with the tokens' agreement.
// Times are this thread's CPU milliseconds (process.cpuUsage), which a loaded machine disturbs less
// than wall time; the two are alternated, and the median of three alternations taken.
//
//   npm run build && node bench/guidance.mjs [--rate 1] [--runs 15]
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { torchPython } from "./torchPython.mjs";
import { fileURLToPath } from "node:url";
import { captureGuidedOutputs } from "./capturedOutputs.mjs";
import { VQDiffusionPipeline } from "../dist/node.js";
import { guideTruncateClamp, guideTruncateClampPlain } from "../dist/sampling/fusedGuidance.js";

const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const rate = Number(flag("rate", "1"));
const runs = Number(flag("runs", "15"));
const root = fileURLToPath(new URL("..", import.meta.url));
// One thread for the model too: the timed parts here are single-threaded on both sides.
const pipe = await VQDiffusionPipeline.fromPretrained(`${root}/models/fashion-mnist`, { sessionOptions: { intraOpNumThreads: 1 } });
const { numVecClasses: K, numLatentPixels: N } = pipe.config;

console.log(`guidance + truncation + clamp per step (CPU ms, median of ${runs}), Fashion-MNIST outputs, guidance 5, rate ${rate}; ${cpus()[0]?.model}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`);
console.log("| B | PyTorch | plain | fused | plain ÷ fused | PyTorch ÷ fused | equal bits |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
const python = torchPython();
let torchVersion = "-";
const scratch = mkdtempSync(join(tmpdir(), "vqd-guidance-"));
for (const B of [1, 16]) {
  const outputs = await captureGuidedOutputs(pipe, B);
  const time = (f) => {
    const times = [];
    for (let r = 0; r < runs; r++) {
      const t0 = process.cpuUsage();
      for (const o of outputs) f(o, B, K - 1, N, true, 5, rate, undefined, "guidanceScale");
      const { user, system } = process.cpuUsage(t0);
      times.push((user + system) / 1000 / outputs.length);
    }
    return times.sort((a, b) => a - b)[runs >> 1];
  };
  time(guideTruncateClamp);
  // Alternate the two so that load from other processes falls on both alike.
  const plain = [];
  const fused = [];
  for (let i = 0; i < 3; i++) {
    plain.push(time(guideTruncateClampPlain));
    fused.push(time(guideTruncateClamp));
  }
  const med = (a) => a.sort((x, y) => x - y)[1];
  const same = outputs.every((o) => {
    const a = guideTruncateClamp(o, B, K - 1, N, true, 5, rate, undefined, "s");
    const b = guideTruncateClampPlain(o, B, K - 1, N, true, 5, rate, undefined, "s");
    return Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)) === 0;
  });
  // PyTorch (diffusers' operations, one thread) on the same outputs, CPU time as ours.
  let torch = null;
  if (python !== null) {
    const file = join(scratch, `outputs-${B}.bin`);
    const all = new Float32Array(outputs.length * outputs[0].length);
    outputs.forEach((o, i) => all.set(o, i * o.length));
    writeFileSync(file, all);
    const res = JSON.parse(execFileSync(python, ["tools/bench/torch_guidance.py", file, String(B), String(K - 1), String(N), "--rate", String(rate), "--runs", String(runs)], { cwd: root, encoding: "utf8" }));
    torch = res.median_cpu_ms;
    torchVersion = res.torch;
  }
  const t = torch === null ? "-" : torch.toFixed(2);
  const ratio = torch === null ? "-" : `${(torch / med(fused)).toFixed(2)}×`;
  console.log(`| ${B} | ${t} | ${med(plain).toFixed(2)} | ${med(fused).toFixed(2)} | ${(med(plain) / med(fused)).toFixed(2)}× | ${ratio} | ${same ? "yes" : "NO"} |`);
}
rmSync(scratch, { recursive: true });
console.log(`(PyTorch ${torchVersion}, one thread, diffusers' operations: tools/bench/torch_guidance.py)`);
await pipe.release();
