/**
 * The TypeScript graph of diffusers' Transformer2DModel against diffusers' own outputs, in
 * onnxruntime-node at B = 1 and 2, within the Python exporter's --check tolerance for the transformer
 * (1e-3 + 1e-4·|x|), in both attention forms:
 * - the committed checkpoints of tools/fixtures/record.py (test/fixtures/checkpoints: D's `.bin` with its
 *   old "layer_norm" config, tiny-learnable, gelu 6 × 6, geglu from its fp16 variant, gelu-approximate
 *   from its bf16 variant), their weights read by the formats readers;
 * - two cases recorded by tools/fixtures/record.py --components (test/fixtures/components/transformer-*):
 *   gelu without attention bias or norm3 affine and with norm_eps 1e-6, and a 3 × 5 latent grid
 *   (height ≠ width, which diffusers builds only with its ImagePositionalEmbeddings swapped in).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import type { CheckpointTensor, StateDict } from "../src/formats/checkpointTensor.js";
import { readPyTorchZip } from "../src/formats/pytorchZip.js";
import { readSafetensorsFile } from "../src/formats/safetensors.js";
import { writeOnnxModel } from "../src/convert/onnx/writeOnnxModel.js";
import type { GraphBuilder } from "../src/convert/onnx/graphBuilder.js";
import { buildTransformerGraph, readTransformerConfig, type TransformerGraphOptions } from "../src/convert/transformer2DModel.js";
import { openRandomAccessFile } from "../src/node/randomAccessFile.js";
import { openSession, outsideTolerance, writeGraph } from "./helpers/graphSession.js";
import { componentTolerance, listCheckpoints, recordedCheckpoint, recordedComponents, type RecordedCheckpoint } from "./helpers/recordedCheckpoints.js";
import { float32Of, safetensorsStateDict } from "./helpers/safetensorsStateDict.js";

const FIXTURES = join(import.meta.dirname, "fixtures", "components");
const { atol: ATOL, rtol: RTOL } = componentTolerance("transformer");
const FORMS = ["onnx", "multiHeadAttention"] as const;

/** A recorded checkpoint's transformer: its config and state dict (the variant's safetensors, else safetensors, else `.bin`). */
async function checkpointTransformer(ckpt: RecordedCheckpoint): Promise<{ config: Record<string, unknown>; dict: StateDict; close: () => Promise<void> }> {
  const dir = join(ckpt.diffusersFolder, "transformer");
  const name =
    ckpt.variant !== null
      ? `diffusion_pytorch_model.${ckpt.variant}.safetensors`
      : existsSync(join(dir, "diffusion_pytorch_model.safetensors"))
        ? "diffusion_pytorch_model.safetensors"
        : "diffusion_pytorch_model.bin";
  const file = await openRandomAccessFile(join(dir, name), `transformer/${name}`);
  const dict = name.endsWith(".bin") ? await readPyTorchZip(file) : await readSafetensorsFile(file);
  return { config: JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>, dict, close: () => file.close() };
}

/** One of the transformer cases of record.py --components: config, weights, and per batch the inputs and diffusers' sample. */
function recordedCase(name: string) {
  const folder = join(FIXTURES, `transformer-${name}`);
  const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8")) as Record<string, unknown>;
  const dict = safetensorsStateDict(readFileSync(join(folder, "diffusion_pytorch_model.safetensors")), "transformer/diffusion_pytorch_model.safetensors");
  const io = safetensorsStateDict(readFileSync(join(folder, "cases.safetensors")), "cases.safetensors");
  const cases = (JSON.parse(readFileSync(join(folder, "cases.json"), "utf8")) as { cases: { batch: number; timestep: number; hidden_states: number[][] }[] }).cases;
  return { config, dict, io, cases };
}

interface Run {
  batch: number;
  hiddenStates: BigInt64Array;
  context: Float32Array;
  contextDims: readonly number[];
  timestep: bigint;
  expected: Float32Array;
  expectedDims: readonly number[];
}

/** The recorded transformer calls of a committed checkpoint (B = 1 and 2). */
function recordedRuns(name: string): Run[] {
  return recordedComponents(name).transformer.runs.map((r): Run => {
    const { hidden_states, encoder_hidden_states, timestep } = r.inputs;
    if (hidden_states.dtype !== "int64" || encoder_hidden_states.dtype !== "float32" || timestep.dtype !== "int64") throw new Error("unexpected recorded dtypes");
    return {
      batch: r.batch,
      hiddenStates: hidden_states.data,
      context: encoder_hidden_states.data,
      contextDims: encoder_hidden_states.shape,
      timestep: timestep.data[0],
      expected: r.output.data,
      expectedDims: r.output.shape,
    };
  });
}

/** Runs the graph on every run; returns the largest |difference| and checks shapes and the tolerance. */
async function runAgainst(g: GraphBuilder, config: Record<string, unknown>, runs: Run[], label: string, tolerance = { atol: ATOL, rtol: RTOL }): Promise<number> {
  const c = readTransformerConfig(config);
  const n = c.height * c.width;
  const session = await openSession(await writeGraph(g));
  expect(session.inputNames).toEqual(["hidden_states", "encoder_hidden_states", "timestep"]);
  expect(session.outputNames).toEqual(["sample"]);
  let worst = 0;
  for (const run of runs) {
    const out = await session.run({
      hidden_states: new ort.Tensor("int64", run.hiddenStates, [run.batch, n]),
      encoder_hidden_states: new ort.Tensor("float32", run.context, run.contextDims),
      timestep: new ort.Tensor("int64", BigInt64Array.of(run.timestep), []),
    });
    expect(out.sample.dims).toEqual([run.batch, c.numVectorEmbeds - 1, n]);
    expect(out.sample.dims).toEqual(run.expectedDims);
    const { outside, maxAbs } = outsideTolerance(out.sample.data as Float32Array, run.expected, tolerance.atol, tolerance.rtol);
    expect(outside, `${label} at B = ${run.batch}: values past ${tolerance.atol} + ${tolerance.rtol}·|x|`).toBe(0);
    worst = Math.max(worst, maxAbs);
  }
  await session.release();
  return worst;
}

describe("buildTransformerGraph: diffusers' recorded outputs", () => {
  for (const ckpt of listCheckpoints()) {
    for (const attention of FORMS) {
      it(`checkpoint ${ckpt.name}${ckpt.variant ? ` (${ckpt.variant})` : ""}, attention ${attention}: B = 1 and 2 within 1e-3 + 1e-4·|x|`, async () => {
        const { transformer } = recordedComponents(ckpt.name);
        expect(transformer.tolerance).toEqual({ atol: ATOL, rtol: RTOL });
        const { config, dict, close } = await checkpointTransformer(ckpt);
        try {
          const g = buildTransformerGraph(config, dict, undefined, { attention });
          const worst = await runAgainst(g, config, recordedRuns(ckpt.name), ckpt.name);
          console.log(`${ckpt.name} (${attention}): max abs diff ${worst.toExponential(2)}`);
        } finally {
          await close();
        }
      });
    }
  }

  for (const name of ["gelu", "hw"]) {
    for (const attention of FORMS) {
      it(`transformer-${name}, attention ${attention}: B = 1 and 2 within 1e-3 + 1e-4·|x|`, async () => {
        const { config, dict, io, cases } = recordedCase(name);
        const c = readTransformerConfig(config);
        const g = buildTransformerGraph(config, dict, undefined, { attention });
        expect(g.nodes.filter((node) => node.opType === "MultiHeadAttention")).toHaveLength(attention === "onnx" ? 0 : 2 * c.numLayers);
        const runs: Run[] = [];
        for (const [i, kase] of cases.entries()) {
          runs.push({
            batch: kase.batch,
            hiddenStates: BigInt64Array.from(kase.hidden_states.flat(), BigInt),
            context: await float32Of(io, `${i}.encoder_hidden_states`),
            contextDims: io.tensors.get(`${i}.encoder_hidden_states`)!.shape,
            timestep: BigInt(kase.timestep),
            expected: await float32Of(io, `${i}.sample`),
            expectedDims: io.tensors.get(`${i}.sample`)!.shape,
          });
        }
        const worst = await runAgainst(g, config, runs, `transformer-${name}`);
        console.log(`transformer-${name} (${attention}): max abs diff ${worst.toExponential(2)}`);
      });
    }
  }

  it("floatStorage float16: every weight but the position table stored as float16; geglu-fp16's weights are float16 numbers, so the output stays within 1e-3 + 1e-4·|x|", async () => {
    const { config, dict, close } = await checkpointTransformer(recordedCheckpoint("geglu-fp16"));
    try {
      const g = buildTransformerGraph(config, dict, undefined, { floatStorage: "float16" });
      expect(g.weights.filter((w) => w.elemType !== "float16").map((w) => w.name)).toEqual(["latent_image_embedding.pos_emb"]);
      const worst = await runAgainst(g, config, recordedRuns("geglu-fp16"), "geglu-fp16 float16");
      console.log(`geglu-fp16 (float16 storage): max abs diff ${worst.toExponential(2)}`);
    } finally {
      await close();
    }
  });

  it("linearWeights int8: every Linear a DynamicQuantizeMatMul on int8 weights, the float64 log-softmax kept; D's log-probabilities within 0.1 of diffusers'", async () => {
    const { config, dict, close } = await checkpointTransformer(recordedCheckpoint("D"));
    try {
      const g = buildTransformerGraph(config, dict, undefined, { linearWeights: "int8" });
      // per layer: attn1 and attn2 q, k, v, out (8), ff (2), norm1 and norm2's linear (2); then out
      expect(g.nodes.filter((node) => node.opType === "DynamicQuantizeMatMul")).toHaveLength(12 + 1);
      expect(g.nodes.filter((node) => node.opType === "MatMul")).toHaveLength(0);
      expect(g.nodes.filter((node) => node.opType === "LogSoftmax")).toHaveLength(1);
      const worst = await runAgainst(g, config, recordedRuns("D"), "D int8", { atol: 0.1, rtol: 0 });
      console.log(`D (int8): max abs diff ${worst.toExponential(2)}`);
    } finally {
      await close();
    }
  });

  it("writes onnxruntime's MultiHeadAttention by default, standard operators with attention \"onnx\"", () => {
    const { config, dict } = recordedCase("gelu");
    const count = (g: GraphBuilder, op: string) => g.nodes.filter((node) => node.opType === op).length;
    const fused = buildTransformerGraph(config, dict);
    expect(count(fused, "MultiHeadAttention")).toBe(4);
    expect(fused.nodes.filter((node) => node.domain !== "").map((node) => node.domain)).toEqual(Array(4).fill("com.microsoft"));
    const plain = buildTransformerGraph(config, dict, undefined, { attention: "onnx" });
    expect(count(plain, "MultiHeadAttention")).toBe(0);
    expect(count(plain, "Softmax")).toBe(4);
    expect(plain.nodes.every((node) => node.domain === "")).toBe(true);
  });

  it("refuses an unknown attention form", () => {
    const { config, dict } = recordedCase("gelu");
    expect(() => buildTransformerGraph(config, dict, undefined, { attention: "flash" as "onnx" })).toThrow(
      'buildTransformerGraph: options.attention: expected "multiHeadAttention" or "onnx", got "flash"',
    );
  });

  it("computes the log-softmax in float64 (a Cast to double feeds LogSoftmax)", () => {
    const { config, dict } = recordedCase("hw");
    const g = buildTransformerGraph(config, dict);
    const logSoftmax = g.nodes.filter((node) => node.opType === "LogSoftmax");
    expect(logSoftmax).toHaveLength(1);
    const producer = g.nodes.find((node) => node.outputs.includes(logSoftmax[0].inputs[0]));
    expect(producer?.opType).toBe("Cast");
    expect(producer?.attributes.to).toEqual({ kind: "int", value: 11 });
  });
});

/** A Map that remembers which keys were looked up. */
class LookedUp<V> extends Map<string, V> {
  readonly keys_ = new Set<string>();
  override get(key: string): V | undefined {
    this.keys_.add(key);
    return super.get(key);
  }
}

describe("buildTransformerGraph: every tensor, at ITHQ's size too", () => {
  for (const ckpt of listCheckpoints()) {
    it(`checkpoint ${ckpt.name}: looks up every tensor of the state dict`, async () => {
      const { config, dict, close } = await checkpointTransformer(ckpt);
      await close();
      const tensors = new LookedUp(dict.tensors);
      buildTransformerGraph(config, { file: dict.file, tensors });
      expect([...tensors.keys()].filter((k) => !tensors.keys_.has(k))).toEqual([]);
    });
  }
  for (const name of ["gelu", "hw"]) {
    it(`transformer-${name}: looks up every tensor of the state dict`, () => {
      const { config, dict } = recordedCase(name);
      const tensors = new LookedUp(dict.tensors);
      buildTransformerGraph(config, { file: dict.file, tensors });
      expect([...tensors.keys()].filter((k) => !tensors.keys_.has(k))).toEqual([]);
    });
  }

  it("builds microsoft/vq-diffusion-ithq's transformer (36 layers of 16 × 88, K = 4097, 32 × 32) from its config and state-dict shapes", () => {
    const { config, shapes } = JSON.parse(readFileSync(join(FIXTURES, "transformer-ithq-shapes.json"), "utf8")) as {
      config: Record<string, unknown>;
      shapes: Record<string, number[]>;
    };
    const tensors = new LookedUp<CheckpointTensor>();
    let parameters = 0;
    for (const [name, shape] of Object.entries(shapes)) {
      const count = shape.reduce((a, b) => a * b, 1);
      parameters += count;
      tensors.set(name, { name, dtype: "float16", shape, byteLength: 2 * count, read: () => Promise.reject(new Error("not read while building")) });
    }
    const g = buildTransformerGraph(config, { file: "transformer/diffusion_pytorch_model.fp16.safetensors", tensors });
    expect([...tensors.keys()].filter((k) => !tensors.keys_.has(k))).toEqual([]);
    expect(g.inputs).toEqual([
      { name: "hidden_states", elemType: "int64", dims: ["batch", 1024] },
      { name: "encoder_hidden_states", elemType: "float32", dims: ["batch", "sequence", 512] },
      { name: "timestep", elemType: "int64", dims: [] },
    ]);
    expect(g.outputs).toEqual([{ name: "sample", elemType: "float32", dims: ["batch", 4096, 1024] }]);
    expect(g.nodes.filter((node) => node.opType === "MultiHeadAttention")).toHaveLength(72);
    // every parameter once as float32, except the height and width tables, written as their [N, dim] sum
    const written = g.weights.reduce((sum, w) => sum + w.byteLength, 0);
    expect(written).toBe(4 * (parameters - (32 + 32) * 1408 + 1024 * 1408));
    expect(parameters).toBe(1_359_274_624); // diffusers: sum(p.numel() for p in Transformer2DModel(**ithq).parameters())
  });
});

describe("buildTransformerGraph: refused configs and tensors", () => {
  // the real-golden checkpoint D: 4 × 4 grid, width 24, T = 30, weights in a `.bin`
  let config: Record<string, unknown> = {};
  let dict: StateDict = { file: "", tensors: new Map() };
  beforeAll(async () => {
    const d = await checkpointTransformer(recordedCheckpoint("D"));
    await d.close();
    ({ config, dict } = d);
  });
  const file = "transformer/config.json";
  const refused: [string, unknown, string][] = [
    ["activation_fn", "swiglu", `${file}: "activation_fn": expected one of "gelu", "gelu-approximate", "geglu", "geglu-approximate", got "swiglu" (not supported by the converter)`],
    ["norm_type", "ada_norm_zero", `${file}: "norm_type": expected one of "ada_norm", "layer_norm", got "ada_norm_zero" (not supported by the converter)`],
    ["only_cross_attention", true, `${file}: "only_cross_attention": expected one of false, got true (not supported by the converter)`],
    ["double_self_attention", true, `${file}: "double_self_attention": expected one of false, got true (not supported by the converter)`],
    ["in_channels", 4, `${file}: "in_channels": expected one of null, got 4 (not supported by the converter)`],
    ["patch_size", 2, `${file}: "patch_size": expected one of null, got 2 (not supported by the converter)`],
    ["attention_type", "gated", `${file}: "attention_type": expected one of "default", got "gated" (not supported by the converter)`],
    ["num_vector_embeds", undefined, `${file}: "num_vector_embeds": expected an integer in [2, 65537], got no such key`],
    ["num_embeds_ada_norm", null, `${file}: "num_embeds_ada_norm": expected an integer in [1, 10000], got null`],
    ["cross_attention_dim", 0, `${file}: "cross_attention_dim": expected an integer in [1, 16384], got 0`],
    ["sample_size", 4.5, `${file}: "sample_size": expected an integer in [1, 256], got 4.5`],
    ["num_layers", -1, `${file}: "num_layers": expected an integer in [1, 1024], got -1`],
  ];
  for (const [key, value, message] of refused) {
    it(`refuses ${key} = ${JSON.stringify(value)}`, () => {
      const bad: Record<string, unknown> = { ...config };
      if (value === undefined) delete bad[key];
      else bad[key] = value;
      expect(() => buildTransformerGraph(bad, dict)).toThrow(message);
    });
  }

  it("refuses a height without a width", () => {
    expect(() => buildTransformerGraph({ ...config, height: 4 }, dict)).toThrow(`${file}: "width": expected an integer in [1, 65536], got no such key`);
  });

  it("names the config file it was given", () => {
    expect(() => buildTransformerGraph({ ...config, activation_fn: "swish" }, dict, "ithq/transformer/config.json")).toThrow(
      'ithq/transformer/config.json: "activation_fn": expected one of "gelu", "gelu-approximate", "geglu", "geglu-approximate", got "swish" (not supported by the converter)',
    );
  });

  it("refuses a tensor whose shape disagrees with the config", () => {
    // D's grid is 4 × 4; a 4 × 5 config expects width_emb of [5, 24]
    expect(() => buildTransformerGraph({ ...config, height: 4, width: 5 }, dict)).toThrow(
      'transformer/diffusion_pytorch_model.bin: tensor "latent_image_embedding.width_emb.weight": expected shape [5, 24] (from the component\'s config.json), got [4, 24]',
    );
    expect(() => buildTransformerGraph({ ...config, num_vector_embeds: 26 }, dict)).toThrow(
      'transformer/diffusion_pytorch_model.bin: tensor "latent_image_embedding.emb.weight": expected shape [26, 24] (from the component\'s config.json), got [25, 24]',
    );
  });

  it("refuses a missing tensor", () => {
    const tensors = new Map(dict.tensors);
    tensors.delete("transformer_blocks.0.attn2.to_k.bias");
    expect(() => buildTransformerGraph(config, { file: dict.file, tensors })).toThrow(
      'transformer/diffusion_pytorch_model.bin: expected a tensor "transformer_blocks.0.attn2.to_k.bias" of shape [24], got no such key',
    );
  });

  it("refuses an int64 weight when the graph is written, naming the file and the tensor", async () => {
    const d = await checkpointTransformer(recordedCheckpoint("D")); // open: the weights are read as the graph is written
    try {
      const tensors = new Map(d.dict.tensors);
      const key = "transformer_blocks.0.ff.net.2.weight";
      const t = d.dict.tensors.get(key)!;
      tensors.set(key, { ...t, dtype: "int64", byteLength: 2 * t.byteLength, read: async () => new Uint8Array(2 * t.byteLength) });
      const g = buildTransformerGraph(d.config, { file: d.dict.file, tensors });
      await expect(writeOnnxModel(g, { writeData: async () => undefined })).rejects.toThrow(
        `transformer/diffusion_pytorch_model.bin: tensor "${key}": expected a floating-point dtype (float32, float16 or bfloat16), got int64`,
      );
    } finally {
      await d.close();
    }
  });

  it("refuses a second layer the checkpoint does not have", () => {
    expect(() => buildTransformerGraph({ ...config, num_layers: 2 }, dict)).toThrow(
      'transformer/diffusion_pytorch_model.bin: expected a tensor "transformer_blocks.1.norm1.emb.weight" of shape [30, 24], got no such key',
    );
  });
});
