// The transformer graph that TypeScript builds (src/convert/transformer2DModel.ts), in each of its
// forms, against a baseline (the first form, or `--baseline FOLDER`: another model folder's
// transformer/model.onnx of the same checkpoint, such as one converted by an earlier version): one step's
// transformer run (B images, a fixed t) in onnxruntime-node, same session options, rounds
// interleaved (each session runs once per round, so load drifts hit all alike), median and min of
// the rounds; with each form's largest |difference| from the baseline's output. Both the wall
// time and the process's CPU time (user + system, process.cpuUsage) of each run are kept: on a
// shared machine the CPU time of a one-thread run is the steadier measure of the work it does.
//
//   npx tsc -p . && node bench/transformerGraph.mjs --checkpoint CKPT [--baseline MODEL_FOLDER]
//        [--forms onnx,multiHeadAttention] [--runs 7] [--batch 2] [--threads 1] [--inline]
//        [--linear-weights int8] [--json]
//
// CKPT: a diffusers checkpoint with float32 safetensors weights (tools/bench/mid_checkpoint.py makes
// an 8-layer, width-512, K = 4097, N = 32 × 32 one). Our graphs keep their weights in
// model.onnx.data, which onnxruntime maps from disk, as the converter writes them; `--inline` also
// runs each form with its weights inside model.onnx (read into memory), as "<form>-inline".
// (docs/converting-transformer.md's figures were measured against the former Python exporter's
// torch.onnx graph, removed since.) Prints the load average (as `uptime`) before and after. Not
// part of npm test. `--linear-weights int8` builds our forms with int8 Linear weights
// (DynamicQuantizeMatMul); compare them with a float conversion as the baseline.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { buildTransformerGraph, readTransformerConfig } from "../dist/convert/transformer2DModel.js";
import { writeOnnxModel } from "../dist/convert/onnx/writeOnnxModel.js";
import { readSafetensorsFile } from "../dist/formats/safetensors.js";
import { openRandomAccessFile } from "../dist/node/randomAccessFile.js";

const flag = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const checkpoint = flag("checkpoint");
const baselineFolder = flag("baseline");
if (!checkpoint) throw new Error("usage: node bench/transformerGraph.mjs --checkpoint CKPT [--baseline MODEL_FOLDER]");
const forms = flag("forms", "onnx,multiHeadAttention").split(",");
const runs = Number(flag("runs", "7"));
const batch = Number(flag("batch", "2"));
const threads = Number(flag("threads", "1"));
const inline = process.argv.includes("--inline");
const linearWeights = flag("linear-weights", "float32");
const load = () => loadavg().map((x) => x.toFixed(2)).join(", ");
const loadBefore = load();

const configFile = join(checkpoint, "transformer", "config.json");
const config = JSON.parse(readFileSync(configFile, "utf8"));
const c = readTransformerConfig(config, configFile);
const N = c.height * c.width;
const L = 77;
const weightsFile = await openRandomAccessFile(join(checkpoint, "transformer", "diffusion_pytorch_model.safetensors"), "transformer/diffusion_pytorch_model.safetensors");
const dict = await readSafetensorsFile(weightsFile);

const options = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
const scratch = mkdtempSync(join(tmpdir(), "vqd-bench-transformer-"));
const sessions = {};
try {
  if (baselineFolder) sessions.baseline = await ort.InferenceSession.create(join(baselineFolder, "transformer", "model.onnx"), options);
  for (const form of forms) {
    for (const where of inline ? ["data", "inline"] : ["data"]) {
      const name = where === "inline" ? `${form}-inline` : form;
      const folder = mkdtempSync(join(scratch, `${form}-`));
      const data = join(folder, "model.onnx.data");
      writeFileSync(data, new Uint8Array(0));
      const t0 = performance.now();
      const g = buildTransformerGraph(config, dict, configFile, { attention: form, linearWeights });
      const { model } = await writeOnnxModel(g, { writeData: async (chunk) => appendFileSync(data, chunk), externalThreshold: where === "inline" ? Infinity : undefined });
      writeFileSync(join(folder, "model.onnx"), model);
      const built = performance.now() - t0;
      sessions[name] = await ort.InferenceSession.create(join(folder, "model.onnx"), options);
      console.error(`${name}: built and written in ${built.toFixed(0)} ms`);
    }
  }

  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const tokens = BigInt64Array.from({ length: batch * N }, () => BigInt(random() < 1 / 3 ? c.numVectorEmbeds - 1 : Math.floor(random() * (c.numVectorEmbeds - 1))));
  const context = new Float32Array(batch * L * c.crossAttentionDim);
  for (let r = 0; r < batch * L; r++) {
    let norm = 0;
    for (let d = 0; d < c.crossAttentionDim; d++) norm += (context[r * c.crossAttentionDim + d] = random() - 0.5) ** 2;
    for (let d = 0; d < c.crossAttentionDim; d++) context[r * c.crossAttentionDim + d] /= Math.sqrt(norm);
  }
  const feeds = () => ({
    hidden_states: new ort.Tensor("int64", tokens, [batch, N]),
    encoder_hidden_states: new ort.Tensor("float32", context, [batch, L, c.crossAttentionDim]),
    timestep: new ort.Tensor("int64", BigInt64Array.of(BigInt(Math.floor(c.numEmbedsAdaNorm / 2))), []),
  });

  const names = Object.keys(sessions);
  const base = names[0];
  const outputs = {};
  for (const name of names) outputs[name] = (await sessions[name].run(feeds())).sample.data; // warm-up
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < runs; r++) {
    for (const name of names) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await sessions[name].run(feeds());
      times[name].push(performance.now() - t0);
      const used = process.cpuUsage(c0);
      cpu[name].push((used.user + used.system) / 1000);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const rows = names.map((name) => {
    let worst = 0;
    for (let i = 0; i < outputs[name].length; i++) worst = Math.max(worst, Math.abs(outputs[name][i] - outputs[base][i]));
    return {
      form: name,
      medianMs: median(times[name]),
      minMs: Math.min(...times[name]),
      medianCpuMs: median(cpu[name]),
      minCpuMs: Math.min(...cpu[name]),
      ratioToBaseline: median(times[base]) / median(times[name]),
      cpuRatioToBaseline: median(cpu[base]) / median(cpu[name]),
      maxAbsDiffToBaseline: worst,
    };
  });
  const result = { checkpoint, baseline: baselineFolder ? "baseline" : base, linearWeights, batch, threads, runs, N, K: c.numVectorEmbeds, L, layers: c.numLayers, width: c.numAttentionHeads * c.attentionHeadDim, loadBefore, loadAfter: load(), rows };
  if (process.argv.includes("--json")) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`${linearWeights} Linear weights; B = ${batch}, ${threads} intra-op thread(s), ${runs} rounds; ${c.numLayers} layers of width ${result.width}, N = ${N}, K = ${c.numVectorEmbeds}, L = ${L}`);
    console.log(`load average before: ${loadBefore}; after: ${result.loadAfter}`);
    for (const row of rows) {
      console.log(
        `${row.form.padEnd(20)} wall median ${row.medianMs.toFixed(0)} ms (min ${row.minMs.toFixed(0)}), ${base}/this ${row.ratioToBaseline.toFixed(3)}; ` +
          `CPU median ${row.medianCpuMs.toFixed(0)} ms (min ${row.minCpuMs.toFixed(0)}), ${base}/this ${row.cpuRatioToBaseline.toFixed(3)}; max |Δ| vs ${base} ${row.maxAbsDiffToBaseline.toExponential(2)}`,
      );
    }
  }
} finally {
  for (const s of Object.values(sessions)) await s.release();
  await weightsFile.close();
  rmSync(scratch, { recursive: true, force: true });
}
