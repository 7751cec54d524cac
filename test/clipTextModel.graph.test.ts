/**
 * The TypeScript-built CLIPTextModel graph against transformers' own outputs (recorded by
 * tools/fixtures/record.py --components), within the components' tolerance (vqd_fixtures/component.py) for the text
 * encoder (atol 1e-4, rtol 1e-4); and its refusals.
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { buildTextEncoderGraph, clipTextModelSizes } from "../src/convert/clipTextModel.js";
import type { ComponentConfig } from "../src/convert/configValues.js";
import type { StateDict } from "../src/formats/checkpointTensor.js";
import { openSession, outsideTolerance, writeGraph } from "./helpers/graphSession.js";
import { componentTolerance } from "./helpers/recordedCheckpoints.js";
import { float32Of, int64Of, safetensorsStateDict } from "./helpers/safetensorsStateDict.js";

const { atol: ATOL, rtol: RTOL } = componentTolerance("text_encoder");

const FIXTURES = new URL("./fixtures/components/", import.meta.url);

function load(caseName: string): { config: ComponentConfig; dict: StateDict; cases: StateDict } {
  const dir = new URL(`${caseName}/text_encoder/`, FIXTURES);
  return {
    config: JSON.parse(readFileSync(new URL("config.json", dir), "utf8")) as ComponentConfig,
    dict: safetensorsStateDict(readFileSync(new URL("model.safetensors", dir)), "text_encoder/model.safetensors"),
    cases: safetensorsStateDict(readFileSync(new URL("cases.safetensors", dir)), "cases.safetensors"),
  };
}

describe("buildTextEncoderGraph: parity with transformers' CLIPTextModel", () => {
  // D: the real-golden checkpoint (quick_gelu); tiny-learnable: gelu, `text_model.` keys and a position_ids buffer.
  for (const caseName of ["D", "tiny-learnable"]) {
    it(`${caseName}: last_hidden_state at B = 1 and 2 within atol 1e-4, rtol 1e-4`, async () => {
      const { config, dict, cases } = load(caseName);
      const session = await openSession(await writeGraph(buildTextEncoderGraph(config, dict)));
      for (const batch of [1, 2]) {
        const ids = await int64Of(cases, `input_ids.b${batch}`);
        const expected = await float32Of(cases, `last_hidden_state.b${batch}`);
        const L = ids.length / batch;
        const out = await session.run({ input_ids: new ort.Tensor("int64", ids, [batch, L]) });
        const hidden = out["last_hidden_state"];
        expect(hidden.dims).toEqual(cases.tensors.get(`last_hidden_state.b${batch}`)!.shape);
        expect(outsideTolerance(hidden.data as Float32Array, expected, ATOL, RTOL).outside).toBe(0);
      }
      await session.release();
    });
  }

  it("floatStorage float16: every weight stored as float16 and widened by a Cast, matching transformers' module with its weights rounded to float16", async () => {
    const { config, dict, cases } = load("D");
    const graph = buildTextEncoderGraph(config, dict, "text_encoder/config.json", { floatStorage: "float16" });
    expect(graph.weights.filter((w) => w.elemType !== "float16")).toEqual([]);
    const session = await openSession(await writeGraph(graph));
    for (const batch of [1, 2]) {
      const ids = await int64Of(cases, `input_ids.b${batch}`);
      const out = await session.run({ input_ids: new ort.Tensor("int64", ids, [batch, ids.length / batch]) });
      expect(outsideTolerance(out["last_hidden_state"].data as Float32Array, await float32Of(cases, `last_hidden_state.fp16.b${batch}`), ATOL, RTOL).outside).toBe(0);
    }
    await session.release();
  });

  it("linearWeights int8: every nn.Linear is a DynamicQuantizeMatMul, and the states stay near PyTorch's", async () => {
    const { config, dict, cases } = load("D");
    const graph = buildTextEncoderGraph(config, dict, "text_encoder/config.json", { linearWeights: "int8" });
    expect(graph.nodes.filter((n) => n.opType === "MatMul" && graph.weights.some((w) => n.inputs.includes(w.name)))).toEqual([]);
    expect(graph.nodes.filter((n) => n.opType === "DynamicQuantizeMatMul")).toHaveLength(2 * 6);
    const session = await openSession(await writeGraph(graph));
    const ids = await int64Of(cases, "input_ids.b2");
    const out = await session.run({ input_ids: new ort.Tensor("int64", ids, [2, ids.length / 2]) });
    // Weight-only int8 with per-column scales and dynamically quantized activations: not the fp32
    // tolerance, but every state within 0.1 of PyTorch's (the states' scale is about 1, after final_layer_norm).
    expect(outsideTolerance(out["last_hidden_state"].data as Float32Array, await float32Of(cases, "last_hidden_state.b2"), 0.1, 0).outside).toBe(0);
    await session.release();
  });

  it("runs a prompt shorter than max_position_embeddings (positions 0 … L − 1, the causal mask cut to L × L)", async () => {
    const { config, dict, cases } = load("D");
    const session = await openSession(await writeGraph(buildTextEncoderGraph(config, dict)));
    const full = await int64Of(cases, "input_ids.b1");
    const expected = await float32Of(cases, "last_hidden_state.b1");
    // Causal attention: the first 5 positions' states do not depend on the later tokens.
    const out = await session.run({ input_ids: new ort.Tensor("int64", full.slice(0, 5), [1, 5]) });
    const D = config["hidden_size"] as number;
    expect(outsideTolerance(out["last_hidden_state"].data as Float32Array, expected.slice(0, 5 * D), ATOL, RTOL).outside).toBe(0);
    await session.release();
  });
});

describe("clipTextModelSizes: microsoft/vq-diffusion-ithq's CLIPTextModel (CLIP ViT-B/32's text model)", () => {
  it("accepts its config, projection_dim and the token ids not entering the graph", () => {
    const ithq = {
      architectures: ["CLIPTextModel"], model_type: "clip_text_model", hidden_act: "quick_gelu", hidden_size: 512, intermediate_size: 2048,
      num_attention_heads: 8, num_hidden_layers: 12, max_position_embeddings: 77, vocab_size: 49408, layer_norm_eps: 1e-5,
      projection_dim: 512, attention_dropout: 0.0, bos_token_id: 0, eos_token_id: 2, pad_token_id: 1,
    };
    expect(clipTextModelSizes(ithq)).toEqual({
      vocabSize: 49408, hiddenSize: 512, intermediateSize: 2048, numHiddenLayers: 12, numAttentionHeads: 8,
      maxPositionEmbeddings: 77, layerNormEps: 1e-5, hiddenAct: "quick_gelu",
    });
  });
});

describe("buildTextEncoderGraph: refusals", () => {
  const { config, dict } = load("D");

  it("refuses a hidden_act it does not support, naming the file, the key and the value", () => {
    expect(() => buildTextEncoderGraph({ ...config, hidden_act: "relu" }, dict)).toThrow(
      'text_encoder/config.json: "hidden_act": expected one of "quick_gelu", "gelu", got "relu" (not supported by the converter)',
    );
  });

  it("refuses heads that do not divide hidden_size", () => {
    expect(() => buildTextEncoderGraph({ ...config, num_attention_heads: 5 }, dict, "te/config.json")).toThrow(
      'te/config.json: "num_attention_heads": expected a divisor of hidden_size 24, got 5',
    );
  });

  it("refuses another model_type (a whole CLIPConfig is not a text model's)", () => {
    expect(() => buildTextEncoderGraph({ ...config, model_type: "clip" }, dict)).toThrow(
      'text_encoder/config.json: "model_type": expected one of "clip_text_model", got "clip" (not supported by the converter)',
    );
  });

  it("refuses a tensor whose shape disagrees with config.json, naming the weights file and the key", () => {
    expect(() => buildTextEncoderGraph({ ...config, intermediate_size: 64 }, dict)).toThrow(
      'text_encoder/model.safetensors: tensor "encoder.layers.0.mlp.fc1.weight": expected shape [64, 24] (from the component\'s config.json), got [56, 24]',
    );
    expect(() => buildTextEncoderGraph({ ...config, vocab_size: 700 }, dict)).toThrow(
      'text_encoder/model.safetensors: tensor "embeddings.token_embedding.weight": expected shape [700, 24] (from the component\'s config.json), got [714, 24]',
    );
  });

  it("refuses a missing layer, naming the key", () => {
    expect(() => buildTextEncoderGraph({ ...config, num_hidden_layers: 3 }, dict)).toThrow(
      'text_encoder/model.safetensors: expected a tensor "encoder.layers.2.layer_norm1.weight" of shape [24], got no such key',
    );
  });
});
