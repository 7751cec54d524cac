// npm run bench -- NAME [options]: one benchmark per question a user asks. Each prints its own
// --help-style header comment; the figures, with the command, the machine and the date, are in
// docs/speed.md (speed) and docs/quality.md (quality). None of them is part of npm test.
//
//   step       one scheduler step at ITHQ's size, reference and fast modes, 1 and 2 threads, against
//              diffusers' step in PyTorch (bench/step.mjs)
//   pipeline   whole generations with the bundled model against diffusers' VQDiffusionPipeline in
//              PyTorch, same threads (bench/pipeline.mjs)
//   ithq       microsoft/vq-diffusion-ithq's architecture at full size, random weights: load, per-step
//              transformer time and tokens against diffusers (bench/ithq.mjs)
//   convert    the TypeScript conversion of a diffusers checkpoint: time, peak RSS, and the converted
//              folder's 2-step tokens against diffusers' recording (bench/convert.mjs)
//   quality    the bundled model's FD and accuracy by the classifier, against the test set
//              (bench/qualityFashion.mjs); `quality -- --pixel-art` for the exact-posterior demo (bench/quality.mjs)
//   serve      the HTTP server over BullMQ with 1 and 2 workers: requests per minute, p50/p95 latency
//              (bench/serve.mjs)
//   browser    the page's runtime: onnxruntime-web's WASM build against onnxruntime-node on the
//              bundled transformer (bench/browser.mjs)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BENCHES = {
  step: "step.mjs",
  pipeline: "pipeline.mjs",
  ithq: "ithq.mjs",
  convert: "convert.mjs",
  quality: "qualityFashion.mjs",
  browser: "browser.mjs",
  serve: "serve.mjs",
};
const [name, ...rest] = process.argv.slice(2);
const names = Object.keys(BENCHES).filter((n) => existsSync(fileURLToPath(new URL(BENCHES[n], import.meta.url))));
if (name === undefined || !names.includes(name)) {
  console.error(`npm run bench -- NAME [options]: expected NAME to be one of ${names.join(", ")}, got ${name === undefined ? "nothing" : JSON.stringify(name)}`);
  process.exit(2);
}
let script = BENCHES[name];
let args = rest;
if (name === "quality" && rest.includes("--pixel-art")) {
  script = "quality.mjs";
  args = rest.filter((a) => a !== "--pixel-art");
}
const result = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);
