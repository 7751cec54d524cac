// npm run bench -- convert: the TypeScript conversion of a diffusers checkpoint (vq-diffusion convert)
// at the size you give it, timed, with its peak RSS, then the converted folder's 2-step guided run
// against diffusers' recorded tokens (test/fixtures/ithq-2step.json: ITHQ's exact config, random
// weights; its `remake` says how to make the checkpoint, 5.4 GB).
//
//   node bench/convert.mjs --checkpoint DIR [--variant fp16] [--dtype fp32|fp16]
//        [--fixture test/fixtures/ithq-2step.json] [--run fp32|fp16] [--out DIR] [--keep]
//
// `--run` picks the fixture's recording to compare with (default: fp16 with --variant fp16, else
// fp32). Each phase runs in its own child process, so each peak RSS is its own. The converted folder
// goes to a temporary folder (or --out) and is removed unless --keep. Needs dist/ (npm run build).
// Figures: docs/real-checkpoints.md, "At ITHQ's size". Not part of npm test.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};

if (process.argv[2] === "--child-convert") {
  const [, , , checkpoint, out, variant, dtype] = process.argv;
  const { openModelOrCheckpoint, convertIntoFolder } = await import(join(root, "dist/node.js"));
  const started = performance.now();
  const options = { variant: variant || undefined, dtype };
  const { checkpoint: opened } = await openModelOrCheckpoint(checkpoint, options, "--checkpoint");
  if (opened === null) throw new Error(`--checkpoint: expected a diffusers checkpoint, got ${checkpoint}`);
  const written = await convertIntoFolder(opened.source, opened.listing, out, "replace-empty", options);
  const bytes = written.reduce((s, w) => s + w.bytes, 0);
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, bytes, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

if (process.argv[2] === "--child-run") {
  const [, , , folder, fixture, runName] = process.argv;
  const { VQDiffusionPipeline, TorchGenerator } = await import(join(root, "dist/node.js"));
  const rec = JSON.parse(readFileSync(fixture, "utf8")).runs[runName];
  const pipe = await VQDiffusionPipeline.fromPretrained(folder);
  const ids = Array.from(pipe.components.tokenizer.encode([rec.prompt]), Number);
  const after = [];
  const started = performance.now();
  await pipe.generate({
    prompt: rec.prompt,
    numImagesPerPrompt: rec.num_images_per_prompt,
    numInferenceSteps: rec.num_inference_steps,
    guidanceScale: rec.guidance_scale,
    truncationRate: rec.truncation_rate,
    generator: new TorchGenerator().manualSeed(rec.seed),
    onStep: ({ sample }) => after.push(Array.from(sample.data)),
  });
  const equal = after.map((s, i) => s.filter((t, j) => t === rec.tokens_after_each_step[i].flat()[j]).length);
  console.log(JSON.stringify({
    idsEqual: JSON.stringify(ids) === JSON.stringify(rec.input_ids.flat()),
    tokensEqualAfterEachStep: equal.map((n) => `${n}/${rec.tokens_after_each_step[0].flat().length}`),
    secondsPerStep: (performance.now() - started) / 1000 / rec.num_inference_steps,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  }));
  await pipe.release();
  process.exit(0);
}

const checkpoint = flag("checkpoint");
if (checkpoint === undefined) {
  console.error("bench/convert.mjs: expected --checkpoint DIR (a diffusers checkpoint folder), got nothing");
  process.exit(2);
}
const variant = flag("variant", "");
const dtype = flag("dtype", "fp32");
const fixture = resolve(flag("fixture", join(root, "test/fixtures/ithq-2step.json")));
const runName = flag("run", variant === "fp16" ? "fp16" : "fp32");
const keep = process.argv.includes("--keep");
const out = flag("out") ?? join(mkdtempSync(join(tmpdir(), "vqd-bench-convert-")), "converted");
const self = fileURLToPath(import.meta.url);
const child = (...args) => JSON.parse(execFileSync(process.execPath, [self, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1));
try {
  const conversion = child("--child-convert", resolve(checkpoint), resolve(out), variant, dtype);
  console.log(`convert ${checkpoint}${variant ? ` --variant ${variant}` : ""} --dtype ${dtype}: ${conversion.seconds.toFixed(1)} s, ${(conversion.bytes / 1e6).toFixed(1)} MB written, peak RSS ${conversion.peakRssMB.toFixed(0)} MB`);
  const run = child("--child-run", resolve(out), fixture, runName);
  console.log(
    `2-step guided run against the fixture's ${runName} recording: ids ${run.idsEqual ? "equal" : "DIFFERENT"}, tokens equal after each step ${run.tokensEqualAfterEachStep.join(", ")}, ` +
      `${run.secondsPerStep.toFixed(1)} s a step, peak RSS ${run.peakRssMB.toFixed(0)} MB`,
  );
} finally {
  if (!keep) rmSync(out, { recursive: true, force: true });
}
