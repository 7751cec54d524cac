/**
 * diffusers' `Transformer2DModel` for vector input (VQ-Diffusion's denoising network) as an ONNX
 * graph, built from its `config.json` and state dict: what `transformer/model.onnx` holds
 * (docs/model-folder.md).
 *
 *   hidden_states          int64   [B, N]     the tokens x_t, each in [0, K − 1]
 *   encoder_hidden_states  float32 [B, L, D]  the prompt embeddings (L symbolic)
 *   timestep               int64   []         one t for the whole batch
 *   → sample               float32 [B, K − 1, N] = log p(x_0 | x_t)
 *
 * The arithmetic follows diffusers 0.40 (models/transformers/transformer_2d.py, attention.py,
 * attention_processor.py, normalization.py, embeddings.py, activations.py):
 *
 *   h = emb[x] + (height_emb[i] + width_emb[j])            ImagePositionalEmbeddings, pixel n = i·W + j
 *   per block (BasicTransformerBlock, norm_type "ada_norm"):
 *     h += attn1(AdaLN1(h, t))                              self-attention
 *     h += attn2(AdaLN2(h, t), encoder_hidden_states)       cross-attention
 *     h += ff(LayerNorm3(h))
 *   AdaLN(h, t) = LayerNorm(h) · (1 + scale) + shift, [scale, shift] = Linear(SiLU(emb[t])) (eps 1e-5, no affine)
 *   attn(x, c) = to_out(softmax(q kᵀ / √head_dim) v) by heads, q = to_q(x), k = to_k(c), v = to_v(c)
 *   ff = Linear(act(x)) with act: gelu (erf), gelu-approximate (tanh), geglu (a · gelu(b) of the two halves),
 *        geglu-approximate (y · σ(1.702 y))
 *   sample = log_softmax(float64(out(norm_out(h))) over classes), cast back to float32
 *
 * The float64 log-softmax is diffusers' `F.log_softmax(logits.double(), dim=1).float()`; it is taken
 * over the last axis of [B, N, K − 1] and then transposed (the same values: the class axis is the
 * one reduced either way, and the transpose moves float32 instead of float64; onnxruntime runs it
 * 2× faster than over axis 1).
 *
 * Between the embedding and the output the image's tokens are rows, [B·N, dim], so that each Linear
 * is a MatMul + Add that onnxruntime fuses into one Gemm (it leaves a 3-D MatMul + Add unfused).
 * Attention is onnxruntime's MultiHeadAttention by default ({@link TransformerGraphOptions}); the
 * activations and LayerNorms are standard operators, which onnxruntime fuses itself (the erf GELU
 * into Gelu, x · σ(αx) into QuickGelu). `floatStorage` and
 * `linearWeights` store the weights as float16 or int8 as the other builders do (weights.ts).
 */
import { latentGrid } from "../files/latentGrid.js";
import { LIMITS } from "../limits.js";
import type { StateDict } from "../formats/checkpointTensor.js";
import { configChoice, configInt, configNumber, type ComponentConfig } from "./configValues.js";
import { gelu, sigmoidGate } from "./activations.js";
import { attr, GraphBuilder, ONNX_ELEM_TYPE, type FloatStorage, type LinearWeights } from "./onnx/graphBuilder.js";
import { expectTensor, floatWeight, layerNorm, linear, readFloat32, storedFloat } from "./weights.js";

/** The largest width, head count × head size, or prompt-embedding width accepted (ITHQ: 1408, 512). */
const MAX_WIDTH = 16_384;

/**
 * The activation functions of the feed-forward layers that the builder supports (diffusers'
 * `activation_fn`).
 *
 * @example
 * ```ts
 * const act: TransformerActivation = "geglu-approximate"; // ITHQ's
 * ```
 */
export type TransformerActivation = "gelu" | "gelu-approximate" | "geglu" | "geglu-approximate";

/**
 * A `Transformer2DModel` config, checked: what the graph is built from ({@link readTransformerConfig}).
 *
 * @example
 * ```ts
 * const { height, width, numVectorEmbeds } = readTransformerConfig(config); // 32, 32, 4097 for ITHQ
 * ```
 */
export interface TransformerGraphConfig {
  /** K, classes including the mask (`num_vector_embeds`). */
  readonly numVectorEmbeds: number;
  /** T, training timesteps (`num_embeds_ada_norm`). */
  readonly numEmbedsAdaNorm: number;
  /** D, the prompt embeddings' width (`cross_attention_dim`). */
  readonly crossAttentionDim: number;
  /** The latent grid: N = height · width. */
  readonly height: number;
  readonly width: number;
  readonly numLayers: number;
  readonly numAttentionHeads: number;
  readonly attentionHeadDim: number;
  readonly attentionBias: boolean;
  readonly activationFn: TransformerActivation;
  /** Whether each block's norm3 has a weight and a bias (`norm_elementwise_affine`). */
  readonly normElementwiseAffine: boolean;
  /** norm3's epsilon (`norm_eps`; the AdaLayerNorms and norm_out use 1e-5, as diffusers builds them). */
  readonly normEps: number;
}

/**
 * Checks a `Transformer2DModel` config for what the graph builder supports and returns its sizes.
 *
 * Supported: vector input (`num_vector_embeds`; `in_channels` and `patch_size` null), `norm_type`
 * "ada_norm", or "layer_norm" (the default, and what old configs such as ITHQ's hold) which
 * diffusers reads as "ada_norm" when `num_embeds_ada_norm` is set (it must be: the timestep enters
 * through it), `activation_fn` gelu / gelu-approximate / geglu / geglu-approximate, `cross_attention_dim` set,
 * `only_cross_attention` and `double_self_attention` false, `attention_type` "default". The latent
 * grid is `height` × `width` when either key is present (the model folder's rule), else
 * `sample_size` squared. `dropout` is read but has no effect (inference); `upcast_attention` has none
 * on float32 weights; `norm_num_groups` and `use_linear_projection` are unused by vector input.
 * Keys diffusers does not know are ignored, as diffusers ignores them.
 *
 * @param file - the config's path, for messages.
 * @throws Error `<file>: "<key>": expected …, got <value>` for a missing key or a value outside what is supported.
 * @example
 * ```ts
 * const c = readTransformerConfig(JSON.parse(text), "transformer/config.json");
 * c.height * c.width; // N, 1024 for ITHQ
 * ```
 */
export function readTransformerConfig(config: ComponentConfig, file = "transformer/config.json"): TransformerGraphConfig {
  configChoice(config, file, "in_channels", [null], null);
  configChoice(config, file, "out_channels", [null], null);
  configChoice(config, file, "patch_size", [null], null);
  configChoice(config, file, "only_cross_attention", [false], false);
  configChoice(config, file, "double_self_attention", [false], false);
  configChoice(config, file, "upcast_attention", [false, true], false);
  configChoice(config, file, "use_linear_projection", [false, true], false);
  configChoice(config, file, "attention_type", ["default"], "default");
  configChoice(config, file, "caption_channels", [null], null);
  configChoice(config, file, "interpolation_scale", [null], null);
  configChoice(config, file, "use_additional_conditions", [null, false], null);
  configNumber(config, file, "dropout", 0, 1, 0);
  configInt(config, file, "norm_num_groups", 1, MAX_WIDTH, 32);
  configChoice(config, file, "norm_type", ["ada_norm", "layer_norm"], "layer_norm");

  const numVectorEmbeds = configInt(config, file, "num_vector_embeds", 2, LIMITS.maxNumVecClasses);
  const numEmbedsAdaNorm = configInt(config, file, "num_embeds_ada_norm", 1, LIMITS.maxNumTrainTimesteps);
  const crossAttentionDim = configInt(config, file, "cross_attention_dim", 1, MAX_WIDTH);
  const { height, width } = latentGrid(config, file, (key, min, max) => configInt(config, file, key, min, max));
  const numAttentionHeads = configInt(config, file, "num_attention_heads", 1, 1024, 16);
  const attentionHeadDim = configInt(config, file, "attention_head_dim", 1, MAX_WIDTH, 88);
  if (numAttentionHeads * attentionHeadDim > MAX_WIDTH) {
    throw new Error(
      `${file}: expected num_attention_heads · attention_head_dim <= ${MAX_WIDTH}, got ${numAttentionHeads} · ${attentionHeadDim} = ${numAttentionHeads * attentionHeadDim}`,
    );
  }
  return {
    numVectorEmbeds,
    numEmbedsAdaNorm,
    crossAttentionDim,
    height,
    width,
    numLayers: configInt(config, file, "num_layers", 1, 1024, 1),
    numAttentionHeads,
    attentionHeadDim,
    attentionBias: configChoice(config, file, "attention_bias", [false, true], false),
    activationFn: configChoice(config, file, "activation_fn", ["gelu", "gelu-approximate", "geglu", "geglu-approximate"] as const, "geglu"),
    normElementwiseAffine: configChoice(config, file, "norm_elementwise_affine", [true, false], true),
    normEps: configNumber(config, file, "norm_eps", 0, 1, 1e-5),
  };
}

/**
 * How the graph is built (the outputs agree with diffusers' within the transformer's tolerance, 1e-3 + 1e-4·|x|, either way).
 *
 * @example
 * ```ts
 * buildTransformerGraph(config, dict, "transformer/config.json", { attention: "onnx" }); // standard operators only
 * ```
 */
export interface TransformerGraphOptions {
  /**
   * How each attention is written:
   * - "multiHeadAttention" (default): onnxruntime's contrib operator com.microsoft.MultiHeadAttention,
   *   one node per attention taking the q, k, v projections and their biases. onnxruntime-node and
   *   onnxruntime-web (wasm) both run it; on this project's 2-core CPU a step took 1–7 % less CPU
   *   time than with "onnx" (bench/transformerGraph.mjs, docs/converting-transformer.md).
   * - "onnx": standard ONNX operators only (Reshape, Transpose, MatMul, Softmax), for runtimes and
   *   tools that know no contrib operator.
   */
  readonly attention?: "multiHeadAttention" | "onnx";
  /** Float weights as float32 (default), or as float16 each widened by a Cast (`storedFloat` in weights.ts). */
  readonly floatStorage?: FloatStorage;
  /**
   * nn.Linear weights as float32 MatMul (default), or int8 DynamicQuantizeMatMul (`linear` in
   * weights.ts). The float64 log-softmax and the attention's products of activations stay float.
   */
  readonly linearWeights?: LinearWeights;
}

/** The epsilon of the LayerNorms diffusers builds with its default (AdaLayerNorm's, norm_out's). */
const TORCH_LAYER_NORM_EPS = 1e-5;

/**
 * diffusers' AdaLayerNorm with a scalar timestep: LayerNorm(x) · (1 + scale) + shift, where
 * [scale, shift] = Linear(SiLU(emb[timestep])) split in two (normalization.py, chunk_dim 0).
 */
function adaLayerNorm(g: GraphBuilder, dict: StateDict, x: string, timestep: string, prefix: string, c: TransformerGraphConfig, dim: number): string {
  return g.scope(prefix, () => {
    const table = floatWeight(g, dict, `${prefix}.emb.weight`, [c.numEmbedsAdaNorm, dim]);
    const emb = g.op("Gather", [table, g.op("Unsqueeze", [timestep, g.ints([0], "axes")])], { axis: attr.int(0) }); // [1, dim]
    const both = linear(g, dict, sigmoidGate(g, emb, 1), `${prefix}.linear`, dim, 2 * dim, true); // [1, 2·dim]
    const flat = g.op("Reshape", [both, g.ints([2 * dim], "flat")]);
    const [scale, shift] = g.node("Split", [flat, g.ints([dim, dim], "split")], { axis: attr.int(0) }, { outputs: 2 });
    const onePlusScale = g.op("Add", [scale, g.scalar(1, "one")]);
    return g.op("LayerNormalization", [x, onePlusScale, shift], { axis: attr.int(-1), epsilon: attr.float(TORCH_LAYER_NORM_EPS) });
  });
}

/**
 * diffusers' Attention with AttnProcessor2_0: heads of `head_dim`, softmax(q kᵀ · head_dim^−½) v,
 * then to_out.0. `x` is the image's tokens, [B·N, dim]; `context` is `x` for self-attention, or the
 * prompt embeddings [B, L, contextDim] for cross-attention. Returns [B·N, dim]. As standard ONNX
 * operators, or as one com.microsoft MultiHeadAttention node taking the projections (and their
 * biases) unless `options.attention` is "onnx".
 */
function attention(
  g: GraphBuilder,
  dict: StateDict,
  x: string,
  context: string | null,
  contextDim: number,
  prefix: string,
  c: TransformerGraphConfig,
  dim: number,
  options: TransformerGraphOptions,
): string {
  return g.scope(prefix, () => {
    const n = c.height * c.width;
    const inner = c.numAttentionHeads * c.attentionHeadDim;
    const scale = 1 / Math.sqrt(c.attentionHeadDim);
    const source = context ?? x;
    const fused = options.attention !== "onnx";
    const bias = !fused && c.attentionBias;
    const q = linear(g, dict, x, `${prefix}.to_q`, dim, inner, bias);
    const k = linear(g, dict, source, `${prefix}.to_k`, contextDim, inner, bias);
    const v = linear(g, dict, source, `${prefix}.to_v`, contextDim, inner, bias);
    let merged: string;
    if (fused) {
      // [B·N, inner] → [B, N, inner]; the prompt's projections are [B, L, inner] already
      const tokens = g.ints([-1, n, inner], "tokens");
      const inputs = [g.op("Reshape", [q, tokens]), ...(context === null ? [k, v].map((t) => g.op("Reshape", [t, tokens])) : [k, v])];
      if (c.attentionBias) {
        const biases = ["to_q", "to_k", "to_v"].map((m) => expectTensor(dict, `${prefix}.${m}.bias`, [inner]));
        inputs.push(
          storedFloat(g, `${prefix}.qkv_bias`, [3 * inner], async (signal) => {
            const out = new Uint8Array(3 * inner * 4);
            for (const [i, t] of biases.entries()) out.set(await readFloat32(dict, t, signal), i * inner * 4);
            return out;
          }),
        );
      }
      const out = g.op("MultiHeadAttention", inputs, { num_heads: attr.int(c.numAttentionHeads), scale: attr.float(scale) }, { domain: "com.microsoft" });
      merged = g.op("Reshape", [out, g.ints([-1, inner], "merge")]);
    } else {
      const imageHeads = g.ints([-1, n, c.numAttentionHeads, c.attentionHeadDim], "heads");
      const sourceHeads = context === null ? imageHeads : g.ints([0, -1, c.numAttentionHeads, c.attentionHeadDim], "prompt_heads");
      const qh = g.op("Transpose", [g.op("Reshape", [q, imageHeads])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, H, N, hd]
      const kh = g.op("Transpose", [g.op("Reshape", [k, sourceHeads])], { perm: attr.ints([0, 2, 3, 1]) }); // [B, H, hd, S]
      const vh = g.op("Transpose", [g.op("Reshape", [v, sourceHeads])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, H, S, hd]
      const scores = g.op("MatMul", [g.op("Mul", [qh, g.scalar(scale, "scale")]), kh]);
      const probs = g.op("Softmax", [scores], { axis: attr.int(-1) });
      const out = g.op("Transpose", [g.op("MatMul", [probs, vh])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, N, H, hd]
      merged = g.op("Reshape", [out, g.ints([-1, inner], "merge")]);
    }
    return linear(g, dict, merged, `${prefix}.to_out.0`, inner, dim, true);
  });
}

/**
 * PyTorch's tanh GELU (`F.gelu(x, approximate="tanh")`, diffusers' "gelu-approximate"):
 * ½x(1 + tanh(√(2/π)(x + 0.044715x³))) as standard operators. onnxruntime 1.30 does not fuse them
 * into its FastGelu on the CPU (checked in the optimized model it saves, with x³ as Pow or as two
 * Muls); no VQ-Diffusion checkpoint known uses this activation, so it stays unfused.
 */
function tanhGelu(g: GraphBuilder, x: string): string {
  const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
  const inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715, "c")])]), g.scalar(Math.sqrt(2 / Math.PI), "sqrt_2_over_pi")]);
  const y = g.op("Mul", [g.op("Mul", [x, g.scalar(0.5, "half")]), g.op("Add", [g.op("Tanh", [inner]), g.scalar(1, "one")])]);
  return y;
}

/** diffusers' FeedForward (mult 4): net.0 (the activation's projection), net.2 (a Linear back to dim). */
function feedForward(g: GraphBuilder, dict: StateDict, x: string, prefix: string, c: TransformerGraphConfig, dim: number): string {
  return g.scope(prefix, () => {
    const inner = 4 * dim;
    let hidden: string;
    if (c.activationFn === "geglu") {
      const both = linear(g, dict, x, `${prefix}.net.0.proj`, dim, 2 * inner, true);
      const [a, gate] = g.node("Split", [both, g.ints([inner, inner], "split")], { axis: attr.int(-1) }, { outputs: 2 });
      hidden = g.op("Mul", [a, gelu(g, gate)]);
    } else {
      const y = linear(g, dict, x, `${prefix}.net.0.proj`, dim, inner, true);
      hidden = c.activationFn === "gelu" ? gelu(g, y) : c.activationFn === "gelu-approximate" ? tanhGelu(g, y) : sigmoidGate(g, y, 1.702);
    }
    return linear(g, dict, hidden, `${prefix}.net.2`, inner, dim, true);
  });
}

/** LayerNorm without weight and bias (norm_elementwise_affine false): scale 1, no bias. */
function plainLayerNorm(g: GraphBuilder, x: string, dim: number, epsilon: number): string {
  const ones = g.constant("float32", [dim], new Float32Array(dim).fill(1), "ones");
  return g.op("LayerNormalization", [x, ones], { axis: attr.int(-1), epsilon: attr.float(epsilon) });
}

/**
 * ImagePositionalEmbeddings' position table, [N, dim]: row i·width + j = height_emb[i] + width_emb[j],
 * summed in float32 as PyTorch sums it (embeddings.py), computed when the model is written and
 * stored as float32.
 */
function positionTable(g: GraphBuilder, dict: StateDict, c: TransformerGraphConfig, dim: number): string {
  const hTensor = expectTensor(dict, "latent_image_embedding.height_emb.weight", [c.height, dim]);
  const wTensor = expectTensor(dict, "latent_image_embedding.width_emb.weight", [c.width, dim]);
  // float32 whatever g.floatStorage says: the sum of two float16 tables is not a float16 table, and
  // it is small (N · dim: 5.8 MB at ITHQ's size)
  return g.weight("latent_image_embedding.pos_emb", "float32", [c.height * c.width, dim], async (signal) => {
    const hBytes = await readFloat32(dict, hTensor, signal);
    const wBytes = await readFloat32(dict, wTensor, signal);
    const h = new Float32Array(hBytes.buffer, hBytes.byteOffset, hBytes.byteLength / 4);
    const w = new Float32Array(wBytes.buffer, wBytes.byteOffset, wBytes.byteLength / 4);
    const out = new Float32Array(c.height * c.width * dim);
    for (let i = 0; i < c.height; i++) {
      for (let j = 0; j < c.width; j++) {
        const row = (i * c.width + j) * dim;
        for (let d = 0; d < dim; d++) out[row + d] = h[i * dim + d] + w[j * dim + d];
      }
    }
    return new Uint8Array(out.buffer);
  });
}

/**
 * Builds `transformer/model.onnx`'s graph from a `Transformer2DModel` config and its state dict
 * (the module's docstring gives the inputs, outputs and arithmetic). Every config value is checked
 * first ({@link readTransformerConfig}), then every tensor's shape against the config as the graph
 * is built; weights are read only when the graph is written ({@link writeOnnxModel}).
 *
 * @param config - the parsed `transformer/config.json`.
 * @param dict - the checkpoint's tensors (float32, float16 or bfloat16; widened to float32).
 * @param configFile - the config's path, for messages.
 * @param options - how attention is written ({@link TransformerGraphOptions}; default onnxruntime's
 *   MultiHeadAttention).
 * @throws Error naming `configFile`, the key and the value for an unsupported or missing config
 *   value; naming the weights file and the key for a missing tensor or one of another shape.
 * @example
 * ```ts
 * const g = buildTransformerGraph(config, dict);
 * const { model } = await writeOnnxModel(g, { writeData: (chunk) => data.write(chunk) });
 * ```
 */
export function buildTransformerGraph(
  config: ComponentConfig,
  dict: StateDict,
  configFile = "transformer/config.json",
  options: TransformerGraphOptions = {},
): GraphBuilder {
  const c = readTransformerConfig(config, configFile);
  const attentionForm = options.attention ?? "multiHeadAttention";
  if (attentionForm !== "onnx" && attentionForm !== "multiHeadAttention") {
    throw new Error(`buildTransformerGraph: options.attention: expected "multiHeadAttention" or "onnx", got ${JSON.stringify(options.attention)}`);
  }
  const dim = c.numAttentionHeads * c.attentionHeadDim;
  const n = c.height * c.width;
  const g = new GraphBuilder("transformer", { floatStorage: options.floatStorage, linearWeights: options.linearWeights });
  const tokens = g.input("hidden_states", "int64", ["batch", n]);
  const context = g.input("encoder_hidden_states", "float32", ["batch", "sequence", c.crossAttentionDim]);
  const timestep = g.input("timestep", "int64", []);

  let h = g.scope("latent_image_embedding", () => {
    const table = floatWeight(g, dict, "latent_image_embedding.emb.weight", [c.numVectorEmbeds, dim]);
    const emb = g.op("Gather", [table, tokens], { axis: attr.int(0) }); // [B, N, dim]
    // the tokens of the batch as rows, [B·N, dim]: each Linear is then one Gemm with its bias
    return g.op("Reshape", [g.op("Add", [emb, positionTable(g, dict, c, dim)]), g.ints([-1, dim], "rows")]);
  });

  for (let layer = 0; layer < c.numLayers; layer++) {
    const p = `transformer_blocks.${layer}`;
    h = g.scope(p, () => {
      let x = h;
      const n1 = adaLayerNorm(g, dict, x, timestep, `${p}.norm1`, c, dim);
      x = g.op("Add", [attention(g, dict, n1, null, dim, `${p}.attn1`, c, dim, options), x]);
      const n2 = adaLayerNorm(g, dict, x, timestep, `${p}.norm2`, c, dim);
      x = g.op("Add", [attention(g, dict, n2, context, c.crossAttentionDim, `${p}.attn2`, c, dim, options), x]);
      const normed = c.normElementwiseAffine ? layerNorm(g, dict, x, `${p}.norm3`, dim, c.normEps) : plainLayerNorm(g, x, dim, c.normEps);
      return g.op("Add", [feedForward(g, dict, normed, `${p}.ff`, c, dim), x]);
    });
  }

  const logits = linear(g, dict, layerNorm(g, dict, h, "norm_out", dim, TORCH_LAYER_NORM_EPS), "out", dim, c.numVectorEmbeds - 1, true); // [B·N, K − 1]
  const logProbs = g.op("LogSoftmax", [g.op("Cast", [logits], { to: attr.int(ONNX_ELEM_TYPE.float64) })], { axis: attr.int(-1) });
  const perPixel = g.op("Reshape", [g.op("Cast", [logProbs], { to: attr.int(ONNX_ELEM_TYPE.float32) }), g.ints([-1, n, c.numVectorEmbeds - 1], "images")]);
  const sample = g.op("Transpose", [perPixel], { perm: attr.ints([0, 2, 1]) }, { names: ["sample"] });
  g.output(sample, "float32", ["batch", c.numVectorEmbeds - 1, n]);
  return g;
}
