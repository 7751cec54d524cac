/**
 * The TypeScript graph of diffusers' Transformer2DModel against diffusers' own outputs, recorded by
 * tools/fixtures/record_transformer.py (test/fixtures/components/transformer-*): the real-golden
 * checkpoint D (old "layer_norm" config, geglu-approximate, attention bias), gelu without attention
 * bias and without norm3's affine, geglu, and a 3 × 5 latent grid. Each runs in onnxruntime-node at
 * B = 1 and 2 within the Python exporter's --check tolerance for the transformer (1e-3 + 1e-4·|x|).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckpointTensor, StateDict } from "../src/formats/checkpointTensor.js";
import { writeOnnxModel } from "../src/convert/onnx/writeOnnxModel.js";
import { buildTransformerGraph, readTransformerConfig } from "../src/convert/transformer2DModel.js";
import type { GraphBuilder } from "../src/convert/onnx/graphBuilder.js";
import { readSafetensors } from "../src/pipeline/safetensors.js";

const FIXTURES = join(import.meta.dirname, "fixtures", "components");
const ATOL = 1e-3;
const RTOL = 1e-4;
const scratch = mkdtempSync(join(tmpdir(), "vqd-transformer-graph-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A StateDict over a float32 safetensors file (until formats/ has its own lazy reader). */
function safetensorsStateDict(path: string, file: string): StateDict {
  const tensors = new Map<string, CheckpointTensor>();
  for (const [name, t] of readSafetensors(readFileSync(path), file)) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    tensors.set(name, { name, dtype: "float32", shape: t.dims, byteLength: bytes.length, read: async () => bytes.slice() });
  }
  return { file, tensors };
}

function fixture(name: string) {
  const folder = join(FIXTURES, `transformer-${name}`);
  const config = JSON.parse(readFileSync(join(folder, "config.json"), "utf8")) as Record<string, unknown>;
  const dict = safetensorsStateDict(join(folder, "diffusion_pytorch_model.safetensors"), "transformer/diffusion_pytorch_model.safetensors");
  const io = readSafetensors(readFileSync(join(folder, "cases.safetensors")), "cases.safetensors");
  const cases = (JSON.parse(readFileSync(join(folder, "cases.json"), "utf8")) as { cases: { batch: number; timestep: number; hidden_states: number[][] }[] }).cases;
  return { config, dict, io, cases };
}

/** Writes the graph as model.onnx + model.onnx.data in a fresh folder and opens it. */
async function session(g: GraphBuilder, name: string, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  const folder = mkdtempSync(join(scratch, `${name}-`));
  const data = join(folder, "model.onnx.data");
  writeFileSync(data, new Uint8Array(0));
  const { model } = await writeOnnxModel(g, { writeData: async (chunk) => appendFileSync(data, chunk), externalThreshold: 256 });
  writeFileSync(join(folder, "model.onnx"), model);
  return ort.InferenceSession.create(join(folder, "model.onnx"), { intraOpNumThreads: 1, ...options });
}

describe("buildTransformerGraph: diffusers' recorded outputs", () => {
  for (const name of ["D", "gelu", "geglu", "hw"]) for (const attention of ["onnx", "multiHeadAttention"] as const) {
    it(`transformer-${name}, attention ${attention}: B = 1 and 2 within 1e-3 + 1e-4·|x|`, async () => {
      const { config, dict, io, cases } = fixture(name);
      const c = readTransformerConfig(config);
      const g = buildTransformerGraph(config, dict, undefined, { attention });
      expect(g.nodes.filter((node) => node.opType === "MultiHeadAttention")).toHaveLength(attention === "onnx" ? 0 : 2 * c.numLayers);
      const s = await session(g, name);
      expect(s.inputNames).toEqual(["hidden_states", "encoder_hidden_states", "timestep"]);
      expect(s.outputNames).toEqual(["sample"]);
      const n = c.height * c.width;
      let worst = 0;
      for (const [i, kase] of cases.entries()) {
        const context = io.get(`${i}.encoder_hidden_states`)!;
        const expected = io.get(`${i}.sample`)!;
        const out = await s.run({
          hidden_states: new ort.Tensor("int64", BigInt64Array.from(kase.hidden_states.flat(), BigInt), [kase.batch, n]),
          encoder_hidden_states: new ort.Tensor("float32", context.data, context.dims),
          timestep: new ort.Tensor("int64", BigInt64Array.of(BigInt(kase.timestep)), []),
        });
        const sample = out.sample;
        expect(sample.dims).toEqual([kase.batch, c.numVectorEmbeds - 1, n]);
        expect(sample.dims).toEqual(expected.dims);
        const got = sample.data as Float32Array;
        let over = 0;
        for (let j = 0; j < got.length; j++) {
          const diff = Math.abs(got[j] - expected.data[j]);
          worst = Math.max(worst, diff);
          if (!(diff <= ATOL + RTOL * Math.abs(expected.data[j]))) over++;
        }
        expect(over, `transformer-${name} case ${i}: values past the tolerance`).toBe(0);
      }
      console.log(`transformer-${name} (${attention}): max abs diff ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(ATOL);
      await s.release();
    });
  }

  it("writes onnxruntime's MultiHeadAttention by default, standard operators with attention \"onnx\"", () => {
    const { config, dict } = fixture("gelu");
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
    const { config, dict } = fixture("gelu");
    expect(() => buildTransformerGraph(config, dict, undefined, { attention: "flash" as "onnx" })).toThrow(
      'buildTransformerGraph: options.attention: expected "multiHeadAttention" or "onnx", got "flash"',
    );
  });

  it("computes the log-softmax in float64 (a Cast to double feeds LogSoftmax)", () => {
    const { config, dict } = fixture("D");
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
  for (const name of ["D", "gelu", "geglu", "hw"]) {
    it(`transformer-${name}: looks up every tensor of the state dict`, () => {
      const { config, dict } = fixture(name);
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
  const { config, dict } = fixture("D");
  const file = "transformer/config.json";
  const refused: [string, unknown, string][] = [
    ["activation_fn", "swiglu", `${file}: "activation_fn": expected one of "gelu", "geglu", "geglu-approximate", got "swiglu" (not supported by the converter)`],
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
    expect(() => buildTransformerGraph({ ...config, activation_fn: "gelu-approximate" }, dict, "ithq/transformer/config.json")).toThrow(
      'ithq/transformer/config.json: "activation_fn": expected one of "gelu", "geglu", "geglu-approximate", got "gelu-approximate" (not supported by the converter)',
    );
  });

  it("refuses a tensor whose shape disagrees with the config", () => {
    // D's grid is 4 × 4; a 4 × 5 config expects width_emb of [5, 24]
    expect(() => buildTransformerGraph({ ...config, height: 4, width: 5 }, dict)).toThrow(
      'transformer/diffusion_pytorch_model.safetensors: tensor "latent_image_embedding.width_emb.weight": expected shape [5, 24] (from the component\'s config.json), got [4, 24]',
    );
    expect(() => buildTransformerGraph({ ...config, num_vector_embeds: 26 }, dict)).toThrow(
      'transformer/diffusion_pytorch_model.safetensors: tensor "latent_image_embedding.emb.weight": expected shape [26, 24] (from the component\'s config.json), got [25, 24]',
    );
  });

  it("refuses a missing tensor", () => {
    const tensors = new Map(dict.tensors);
    tensors.delete("transformer_blocks.0.attn2.to_k.bias");
    expect(() => buildTransformerGraph(config, { file: dict.file, tensors })).toThrow(
      'transformer/diffusion_pytorch_model.safetensors: expected a tensor "transformer_blocks.0.attn2.to_k.bias" of shape [24], got no such key',
    );
  });

  it("refuses a second layer the checkpoint does not have", () => {
    expect(() => buildTransformerGraph({ ...config, num_layers: 2 }, dict)).toThrow(
      'transformer/diffusion_pytorch_model.safetensors: expected a tensor "transformer_blocks.1.norm1.emb.weight" of shape [30, 24], got no such key',
    );
  });
});
