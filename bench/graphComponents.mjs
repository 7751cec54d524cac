// The TypeScript-built text encoder and VQ decoder graphs (src/convert/clipTextModel.ts,
// vqModelDecoder.ts) against the Python exporter's torch.onnx graphs of the same weights, at
// microsoft/vq-diffusion-ithq's size: conversion time, parity with PyTorch (the exporter's --check
// tolerances), and onnxruntime-node's time per run on one intra-op thread, the two graphs' runs
// interleaved, median of --runs (default 7) after one warm-up each: the process's CPU time (user +
// system, steadier than wall time on a shared machine, where other jobs take the cores) and wall time.
//
//   tools/export/.venv/bin/python tools/bench/graph_components_ithq.py /tmp/gc-ithq   # once (1 min)
//   npx tsc -p . && node bench/graphComponents.mjs /tmp/gc-ithq [--runs 7]
import { open, mkdir, writeFile, appendFile, readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { buildTextEncoderGraph } from "../dist/convert/clipTextModel.js";
import { buildVqvaeDecoderGraph } from "../dist/convert/vqModelDecoder.js";
import { writeOnnxModel } from "../dist/convert/onnx/writeOnnxModel.js";

const DTYPES = { F32: "float32", F16: "float16", BF16: "bfloat16", I64: "int64" };

/** A StateDict over a safetensors file read by offset (the bench's stand-in for the formats reader). */
async function safetensorsFile(path, file) {
  const fh = await open(path, "r");
  const head = Buffer.alloc(8);
  await fh.read(head, 0, 8, 0);
  const n = Number(head.readBigUInt64LE(0));
  const text = Buffer.alloc(n);
  await fh.read(text, 0, n, 8);
  const tensors = new Map();
  for (const [name, e] of Object.entries(JSON.parse(text.toString("utf8")))) {
    if (name === "__metadata__") continue;
    const [begin, end] = e.data_offsets;
    const read = async () => {
      const out = new Uint8Array(end - begin);
      await fh.read(out, 0, out.length, 8 + n + begin);
      return out;
    };
    tensors.set(name, { name, dtype: DTYPES[e.dtype], shape: e.shape, byteLength: end - begin, read });
  }
  return { dict: { file, tensors }, close: () => fh.close() };
}

async function writeGraph(graph, dir) {
  await mkdir(dir, { recursive: true });
  const data = join(dir, "model.onnx.data");
  await writeFile(data, new Uint8Array(0));
  const { model } = await writeOnnxModel(graph, { writeData: (chunk) => appendFile(data, chunk) });
  await writeFile(join(dir, "model.onnx"), model);
  return join(dir, "model.onnx");
}

function outside(actual, expected, atol, rtol) {
  let count = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) count++;
    if (!(d <= maxAbs)) maxAbs = d;
  }
  return `${count} of ${actual.length} outside, max |diff| ${maxAbs.toExponential(2)}`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const root = process.argv[2];
if (!root) throw new Error("usage: node bench/graphComponents.mjs OUT [--runs N] (OUT written by tools/bench/graph_components_ithq.py)");
const runsAt = process.argv.indexOf("--runs");
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 7;
const reference = (await safetensorsFile(join(root, "reference.safetensors"), "reference.safetensors")).dict;
const tensorOf = async (name, Ctor) => new Ctor((await reference.tensors.get(name).read()).buffer);

const components = [
  {
    folder: "text_encoder",
    weights: "text_encoder/model.safetensors",
    build: (config, dict) => buildTextEncoderGraph(config, dict),
    input: "input_ids",
    output: "last_hidden_state",
    tolerance: [1e-4, 1e-4],
  },
  {
    folder: "vqvae_decoder",
    weights: "vqvae/diffusion_pytorch_model.safetensors",
    build: (config, dict) => buildVqvaeDecoderGraph(config, dict, "vqvae/config.json", { grid: { height: 32, width: 32 } }),
    input: "indices",
    output: "sample",
    tolerance: [1e-3, 1e-4],
  },
];

console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}; onnxruntime-node ${ort.env.versions.common}, 1 intra-op thread`);
for (const c of components) {
  const configPath = join(root, "checkpoint", c.weights.split("/")[0], "config.json");
  const config = JSON.parse(await readFile(configPath, "utf8"));
  const { dict, close } = await safetensorsFile(join(root, "checkpoint", c.weights), c.weights);
  const t0 = performance.now();
  const tsPath = await writeGraph(c.build(config, dict), join(root, "ts", c.folder));
  const convertMs = performance.now() - t0;
  await close();
  const inputName = reference.tensors.get(c.input);
  const feeds = { [c.input]: new ort.Tensor("int64", await tensorOf(c.input, BigInt64Array), inputName.shape) };
  const expected = await tensorOf(c.output, Float32Array);
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const sessions = {
    typescript: await ort.InferenceSession.create(tsPath, options),
    python: await ort.InferenceSession.create(join(root, "python", c.folder, "model.onnx"), options),
  };
  const times = { typescript: [], python: [] };
  const cpu = { typescript: [], python: [] };
  const parity = {};
  for (let r = -1; r < runs; r++) {
    for (const [name, session] of Object.entries(sessions)) {
      const t = performance.now();
      const before = process.cpuUsage();
      const out = await session.run(feeds);
      const used = process.cpuUsage(before);
      const ms = performance.now() - t;
      if (r < 0) parity[name] = outside(out[c.output].data, expected, ...c.tolerance);
      else {
        times[name].push(ms);
        cpu[name].push((used.user + used.system) / 1000);
      }
    }
  }
  console.log(`${c.folder}: converted in ${(convertMs / 1000).toFixed(1)} s`);
  for (const name of ["typescript", "python"]) {
    const xs = times[name];
    const cs = cpu[name];
    console.log(
      `  ${name.padEnd(10)} vs PyTorch (atol ${c.tolerance[0]}, rtol ${c.tolerance[1]}): ${parity[name]}; ` +
        `CPU median ${median(cs).toFixed(1)} ms (min ${Math.min(...cs).toFixed(1)}, max ${Math.max(...cs).toFixed(1)}), ` +
        `wall median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}), ${xs.length} runs`,
    );
  }
  for (const s of Object.values(sessions)) await s.release();
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
