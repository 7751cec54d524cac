/**
 * transformers' `CLIPTextModel` (models/clip/modeling_clip.py) as an ONNX graph, built from its
 * `config.json` and state dict: the `text_encoder/model.onnx` of docs/model-folder.md.
 *
 * What it computes, as transformers does when VQDiffusionPipeline calls
 * `text_encoder(input_ids).last_hidden_state` (no attention mask):
 *
 *   x = token_embedding[input_ids] + position_embedding[0 … L − 1]
 *   for each layer:  x = x + out_proj(attention(layer_norm1(x)))
 *                    x = x + fc2(act(fc1(layer_norm2(x))))
 *   last_hidden_state = final_layer_norm(x)
 *
 * attention: `num_attention_heads` heads of hidden_size / heads, softmax(q·kᵀ · head_dim^−0.5 + mask)·v,
 * where the mask is the causal mask alone (0 on and below the diagonal, float32's lowest value
 * above): with no `attention_mask` passed, `create_causal_mask` adds no padding mask, so padded
 * positions are attended as any other (the pipeline relies on that: it takes every position's
 * state). Positions are 0 … L − 1: the `position_ids` buffer that older transformers saved in the
 * state dict (`embeddings.position_ids`, int64 [1, max_position_embeddings]) is not read, as
 * transformers ≥ 4.31 (where it is a non-persistent buffer) drops it when loading.
 */
import type { StateDict } from "../formats/checkpointTensor.js";
import { type ComponentConfig, configChoice, configInt, configNumber } from "./configValues.js";
import { gelu, sigmoidGate } from "./activations.js";
import { attr, type FloatStorage, GraphBuilder, type LinearWeights } from "./onnx/graphBuilder.js";
import { floatWeight, layerNorm, linear } from "./weights.js";

/** float32's lowest finite value: what transformers' causal mask adds above the diagonal (`torch.finfo(dtype).min`). */
const FLOAT32_LOWEST = -3.4028234663852886e38;

/**
 * The `hidden_act` values the builder supports (transformers' ACT2FN names).
 *
 * @example
 * ```ts
 * CLIP_TEXT_ACTIVATIONS.includes("quick_gelu"); // true
 * ```
 */
export const CLIP_TEXT_ACTIVATIONS = ["quick_gelu", "gelu"] as const;

/**
 * The sizes and options of a CLIPTextModel, read and checked from its config.
 *
 * @example
 * ```ts
 * const { hiddenSize, numAttentionHeads } = clipTextModelSizes(config); // 512 and 8 for ITHQ
 * ```
 */
export interface ClipTextModelSizes {
  readonly vocabSize: number;
  /** D, the width of every hidden state. */
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  /** The most tokens a prompt may have (the position table's rows). */
  readonly maxPositionEmbeddings: number;
  readonly layerNormEps: number;
  readonly hiddenAct: (typeof CLIP_TEXT_ACTIVATIONS)[number];
}

/**
 * Reads the sizes of a `CLIPTextConfig` (transformers' defaults where a key is absent), refusing a
 * value the builder does not support.
 *
 * @throws Error `<configFile>: "<key>": expected …, got <value>` for a value out of bounds or not
 *   supported (a `hidden_act` other than quick_gelu or gelu, a `model_type` other than
 *   clip_text_model, heads that do not divide hidden_size).
 * @example
 * ```ts
 * clipTextModelSizes({ hidden_size: 512, num_attention_heads: 8 }, "text_encoder/config.json").hiddenSize; // 512
 * ```
 */
export function clipTextModelSizes(config: ComponentConfig, configFile = "text_encoder/config.json"): ClipTextModelSizes {
  configChoice(config, configFile, "model_type", ["clip_text_model"], "clip_text_model");
  const hiddenSize = configInt(config, configFile, "hidden_size", 1, 16384, 512);
  const numAttentionHeads = configInt(config, configFile, "num_attention_heads", 1, hiddenSize, 8);
  if (hiddenSize % numAttentionHeads !== 0) {
    throw new Error(`${configFile}: "num_attention_heads": expected a divisor of hidden_size ${hiddenSize}, got ${numAttentionHeads}`);
  }
  return {
    vocabSize: configInt(config, configFile, "vocab_size", 1, 1 << 20, 49408),
    hiddenSize,
    intermediateSize: configInt(config, configFile, "intermediate_size", 1, 1 << 17, 2048),
    numHiddenLayers: configInt(config, configFile, "num_hidden_layers", 1, 1024, 12),
    numAttentionHeads,
    maxPositionEmbeddings: configInt(config, configFile, "max_position_embeddings", 1, 4096, 77),
    layerNormEps: configNumber(config, configFile, "layer_norm_eps", Number.MIN_VALUE, 1, 1e-5),
    hiddenAct: configChoice(config, configFile, "hidden_act", CLIP_TEXT_ACTIVATIONS, "quick_gelu"),
  };
}

/**
 * How a text encoder graph stores its weights (default float32 for both; see GraphBuilder).
 *
 * @example
 * ```ts
 * buildTextEncoderGraph(config, dict, "text_encoder/config.json", { floatStorage: "float16" });
 * ```
 */
export interface TextEncoderGraphOptions {
  /** Float weights as float32, or as float16 each widened by a Cast (`floatWeight`). */
  readonly floatStorage?: FloatStorage;
  /** nn.Linear weights as float32 MatMul, or int8 DynamicQuantizeMatMul (`linear`). */
  readonly linearWeights?: LinearWeights;
}

/**
 * Builds `text_encoder/model.onnx` from a CLIPTextModel's config and weights: input `input_ids`
 * (int64 [batch, sequence], token ids in [0, vocab_size), sequence ≤ max_position_embeddings),
 * output `last_hidden_state` (float32 [batch, sequence, hidden_size], after final_layer_norm).
 * Opset 17 (LayerNormalization). Weights are read lazily, when the graph is written.
 * quick_gelu is x·σ(1.702x), gelu the exact x·½(1 + erf(x/√2)) (transformers' ACT2FN).
 *
 * Keys are transformers' (`embeddings.token_embedding.weight`, `encoder.layers.{i}.self_attn.q_proj.weight`,
 * `final_layer_norm.weight`, …), with or without the `text_model.` prefix that transformers before
 * 5.0 saved; `embeddings.position_ids` is ignored (see the module's comment).
 *
 * @param configFile - the config's path in the model folder, for messages.
 * @param options - how weights are stored ({@link TextEncoderGraphOptions}; default float32).
 * @throws Error naming `configFile`, the key and the value for an unsupported config value
 *   ({@link clipTextModelSizes}); naming the weights file and the tensor when a tensor is missing
 *   or its shape disagrees with the config.
 * @example
 * ```ts
 * const g = buildTextEncoderGraph(config, dict); // then writeOnnxModel(g, { writeData })
 * ```
 */
export function buildTextEncoderGraph(
  config: ComponentConfig,
  dict: StateDict,
  configFile = "text_encoder/config.json",
  options: TextEncoderGraphOptions = {},
): GraphBuilder {
  const s = clipTextModelSizes(config, configFile);
  const prefix = dict.tensors.has("text_model.embeddings.token_embedding.weight") ? "text_model." : "";
  const D = s.hiddenSize;
  const P = s.maxPositionEmbeddings;
  const headDim = D / s.numAttentionHeads;
  const g = new GraphBuilder("text_encoder", options);
  const ids = g.input("input_ids", "int64", ["batch", "sequence"]);

  // Every tensor's shape is checked before the graph grows further (expectTensor throws first).
  const x0 = g.scope("embeddings", () => {
    const tokens = floatWeight(g, dict, `${prefix}embeddings.token_embedding.weight`, [s.vocabSize, D]);
    const positions = floatWeight(g, dict, `${prefix}embeddings.position_embedding.weight`, [P, D]);
    const length = g.op("Shape", [ids], { start: attr.int(1), end: attr.int(2) });
    const used = g.op("Slice", [positions, g.ints([0], "zero"), length, g.ints([0], "axis0")]);
    return g.op("Add", [g.op("Gather", [tokens, ids], { axis: attr.int(0) }), used]);
  });

  const causal = new Float32Array(P * P);
  for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) causal[i * P + j] = FLOAT32_LOWEST;
  const maskTable = g.constant("float32", [P, P], causal, "causal_mask");
  const length = g.op("Shape", [ids], { start: attr.int(1), end: attr.int(2) });
  const ends = g.op("Concat", [length, length], { axis: attr.int(0) });
  const mask = g.op("Slice", [maskTable, g.ints([0, 0], "zeros"), ends, g.ints([0, 1], "axes01")]);
  const scale = g.scalar(headDim ** -0.5, "scale");
  const splitHeads = g.ints([0, 0, s.numAttentionHeads, headDim], "split_heads");
  const mergeHeads = g.ints([0, 0, D], "merge_heads");

  let x = x0;
  for (let i = 0; i < s.numHiddenLayers; i++) {
    const layer = `${prefix}encoder.layers.${i}`;
    x = g.scope(`encoder.layers.${i}`, () => {
      const h = layerNorm(g, dict, x, `${layer}.layer_norm1`, D, s.layerNormEps);
      const heads = (name: string, perm: number[]): string =>
        g.op("Transpose", [g.op("Reshape", [linear(g, dict, h, `${layer}.self_attn.${name}`, D, D, true), splitHeads])], { perm: attr.ints(perm) });
      const q = heads("q_proj", [0, 2, 1, 3]); // [B, heads, L, head_dim]
      const kT = heads("k_proj", [0, 2, 3, 1]); // [B, heads, head_dim, L]
      const v = heads("v_proj", [0, 2, 1, 3]);
      const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, kT]), scale]), mask]);
      const context = g.op("MatMul", [g.op("Softmax", [scores], { axis: attr.int(-1) }), v]);
      const merged = g.op("Reshape", [g.op("Transpose", [context], { perm: attr.ints([0, 2, 1, 3]) }), mergeHeads]);
      const attended = g.op("Add", [x, linear(g, dict, merged, `${layer}.self_attn.out_proj`, D, D, true)]);
      const m = layerNorm(g, dict, attended, `${layer}.layer_norm2`, D, s.layerNormEps);
      const fc1 = linear(g, dict, m, `${layer}.mlp.fc1`, D, s.intermediateSize, true);
      const hidden = s.hiddenAct === "quick_gelu" ? sigmoidGate(g, fc1, 1.702) : gelu(g, fc1);
      return g.op("Add", [attended, linear(g, dict, hidden, `${layer}.mlp.fc2`, s.intermediateSize, D, true)]);
    });
  }

  const scaleW = floatWeight(g, dict, `${prefix}final_layer_norm.weight`, [D]);
  const biasW = floatWeight(g, dict, `${prefix}final_layer_norm.bias`, [D]);
  const out = g.op("LayerNormalization", [x, scaleW, biasW], { axis: attr.int(-1), epsilon: attr.float(s.layerNormEps) }, { names: ["last_hidden_state"] });
  g.output(out, "float32", ["batch", "sequence", D]);
  return g;
}
