/**
 * diffusers' `VQModel` decode path (models/autoencoders/vq_model.py, the Decoder of
 * autoencoders/vae.py) as an ONNX graph, built from its `config.json` and state dict: the
 * `vqvae_decoder/model.onnx` of docs/model-folder.md, which is, in diffusers' terms,
 *
 *   vqvae.decode(vqvae.quantize.get_codebook_entry(indices, (B, h, w, vq_embed_dim)), force_not_quantize=True).sample
 *
 * as VQDiffusionPipeline decodes. Step by step:
 *
 * - codebook lookup: `quantize.embedding.weight` [num_vq_embeddings, vq_embed_dim] gathered at the
 *   indices, viewed as [B, h, w, E] (index n is row n / w, column n mod w) and permuted to [B, E, h, w];
 * - `post_quant_conv` (1 × 1, E → latent_channels);
 * - the Decoder: `conv_in` (3 × 3 → block_out_channels[−1]); the mid block (ResnetBlock2D, one-head
 *   self-attention over the h·w positions when `mid_block_add_attention`, ResnetBlock2D); the up
 *   blocks, from the widest level down, each `layers_per_block` + 1 ResnetBlock2D (each followed by
 *   attention in an AttnUpDecoderBlock2D) and, except the last, a nearest-neighbour ×2 upsampling
 *   and a 3 × 3 conv; then GroupNorm (`norm_num_groups`, eps 1e-6), SiLU and `conv_out`.
 *
 * ResnetBlock2D (resnet.py, temb None, pre-norm, output_scale_factor 1):
 *   y = shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x)))))), shortcut a 1 × 1 conv when the
 *   channel count changes, else the identity; both norms GroupNorm(norm_num_groups, eps 1e-6).
 * Attention (attention_processor.py, built with `_from_deprecated_attn_block`: one head of all C
 *   channels, group_norm, residual_connection, rescale 1):
 *   y = x + to_out.0(softmax(q·kᵀ / √C) · v), q, k, v = to_q, to_k, to_v of group_norm(x) as [B, h·w, C].
 *
 * Attention weights are read under today's names (`to_q`, `to_k`, `to_v`, `to_out.0`) or, as diffusers
 * loads older checkpoints, under AttentionBlock's (`query`, `key`, `value`, `proj_attn`).
 *
 * Supported: `norm_type` "group" (VQ-Diffusion's; "spatial", MoVQ's conditioned norm, is refused),
 * `act_fn` silu (or its alias swish), `lookup_from_codebook` false (true would make `decode` look
 * up the codebook again, which the pipeline does not do), `mid_block_add_attention` either way,
 * up blocks UpDecoderBlock2D and AttnUpDecoderBlock2D. `scaling_factor` and `force_upcast` do not
 * enter the decode path (diffusers uses them in latent-diffusion pipelines) and are not read.
 */
import type { StateDict } from "../formats/checkpointTensor.js";
import { conv2d } from "./conv2d.js";
import { type ComponentConfig, configChoice, configInt, configInts } from "./configValues.js";
import { groupNorm } from "./groupNorm.js";
import { sigmoidGate } from "./activations.js";
import { attr, type FloatStorage, GraphBuilder, type LinearWeights } from "./onnx/graphBuilder.js";
import { floatWeight, linear } from "./weights.js";

/** GroupNorm's epsilon everywhere in diffusers' Decoder (`resnet_eps=1e-6`, `conv_norm_out`'s eps). */
const DECODER_EPS = 1e-6;

/**
 * The up block types the builder supports (diffusers' names).
 *
 * @example
 * ```ts
 * VQ_UP_BLOCK_TYPES.includes("AttnUpDecoderBlock2D"); // true
 * ```
 */
export const VQ_UP_BLOCK_TYPES = ["UpDecoderBlock2D", "AttnUpDecoderBlock2D"] as const;

/**
 * The latent grid the indices fill, row-major: N = height · width.
 *
 * @example
 * ```ts
 * const grid: LatentGrid = { height: 32, width: 32 }; // ITHQ: N = 1024
 * ```
 */
export interface LatentGrid {
  readonly height: number;
  readonly width: number;
}

/**
 * The sizes and options of a VQModel's decode path, read and checked from its config.
 *
 * @example
 * ```ts
 * const { numVqEmbeddings, vqEmbedDim } = vqModelDecoderSizes(config); // 4096 and 128 for ITHQ
 * ```
 */
export interface VqModelDecoderSizes {
  /** The codebook's rows (the transformer's K − 1). */
  readonly numVqEmbeddings: number;
  /** E, the codebook vectors' width. */
  readonly vqEmbedDim: number;
  readonly latentChannels: number;
  readonly outChannels: number;
  readonly blockOutChannels: readonly number[];
  readonly upBlockTypes: readonly (typeof VQ_UP_BLOCK_TYPES)[number][];
  readonly layersPerBlock: number;
  readonly normNumGroups: number;
  readonly midBlockAddAttention: boolean;
  /** The image side the VQModel was configured for (`sample_size`). */
  readonly sampleSize: number;
}

/**
 * Reads the sizes of a VQModel config (diffusers' defaults where a key is absent), refusing what
 * the builder does not support.
 *
 * @throws Error `<configFile>: "<key>": expected …, got <value>` for a value out of bounds or not
 *   supported, for `up_block_types` whose length differs from `block_out_channels`', and for a
 *   channel count that `norm_num_groups` does not divide.
 * @example
 * ```ts
 * vqModelDecoderSizes(ithqVqvaeConfig).blockOutChannels; // [64, 128, 256, 512]
 * ```
 */
export function vqModelDecoderSizes(config: ComponentConfig, configFile = "vqvae/config.json"): VqModelDecoderSizes {
  configChoice(config, configFile, "_class_name", ["VQModel"], "VQModel");
  configChoice(config, configFile, "norm_type", ["group"], "group");
  configChoice(config, configFile, "act_fn", ["silu", "swish"], "silu");
  configChoice(config, configFile, "lookup_from_codebook", [false], false);
  const midBlockAddAttention = configChoice(config, configFile, "mid_block_add_attention", [true, false], true);
  const blockOutChannels = configInts(config, configFile, "block_out_channels", 1, 16384, [64]);
  const types = config["up_block_types"] ?? ["UpDecoderBlock2D"];
  if (
    !Array.isArray(types) ||
    types.length !== blockOutChannels.length ||
    !types.every((t) => (VQ_UP_BLOCK_TYPES as readonly unknown[]).includes(t))
  ) {
    throw new Error(
      `${configFile}: "up_block_types": expected ${blockOutChannels.length} of ${VQ_UP_BLOCK_TYPES.map((t) => JSON.stringify(t)).join(", ")} ` +
        `(one per block_out_channels), got ${JSON.stringify(config["up_block_types"])} (not supported by the converter)`,
    );
  }
  const latentChannels = configInt(config, configFile, "latent_channels", 1, 16384, 3);
  const normNumGroups = configInt(config, configFile, "norm_num_groups", 1, 16384, 32);
  const bad = blockOutChannels.find((c) => c % normNumGroups !== 0);
  if (bad !== undefined) {
    throw new Error(`${configFile}: "norm_num_groups": expected a divisor of every block_out_channels (${blockOutChannels.join(", ")}), got ${normNumGroups}`);
  }
  return {
    numVqEmbeddings: configInt(config, configFile, "num_vq_embeddings", 1, 65536, 256),
    vqEmbedDim: configInt(config, configFile, "vq_embed_dim", 1, 16384, latentChannels),
    latentChannels,
    outChannels: configInt(config, configFile, "out_channels", 1, 64, 3),
    blockOutChannels,
    upBlockTypes: types as VqModelDecoderSizes["upBlockTypes"],
    layersPerBlock: configInt(config, configFile, "layers_per_block", 1, 64, 1),
    normNumGroups,
    midBlockAddAttention,
    sampleSize: configInt(config, configFile, "sample_size", 1, 1 << 16, 32),
  };
}

/** The default latent grid: a square of side sample_size / 2^(levels − 1), the size the encoder makes of a sample_size image. */
function defaultGrid(s: VqModelDecoderSizes, configFile: string): LatentGrid {
  const side = s.sampleSize / 2 ** (s.blockOutChannels.length - 1);
  if (!Number.isInteger(side)) {
    throw new Error(
      `${configFile}: "sample_size": expected a multiple of 2^${s.blockOutChannels.length - 1} (the decoder's upsampling) to give the latent grid, got ${s.sampleSize}; pass the grid (the transformer's height and width)`,
    );
  }
  return { height: side, width: side };
}

/**
 * Options of {@link buildVqvaeDecoderGraph}.
 *
 * @example
 * ```ts
 * buildVqvaeDecoderGraph(config, dict, "vqvae/config.json", { grid: { height: 24, width: 40 }, floatStorage: "float16" });
 * ```
 */
export interface VqvaeDecoderGraphOptions {
  /**
   * The latent grid h × w (VQDiffusionPipeline's: the transformer's `height` and `width`, or
   * `sample_size` for both). Default: the square grid a `sample_size` image encodes to,
   * sample_size / 2^(levels − 1) on each side.
   */
  readonly grid?: LatentGrid;
  /** Float weights (convolutions, norms, codebook) as float32, or as float16 each widened by a Cast. */
  readonly floatStorage?: FloatStorage;
  /** The attention projections as float32 MatMul, or int8 DynamicQuantizeMatMul (`linear`). */
  readonly linearWeights?: LinearWeights;
}

interface Stage {
  readonly g: GraphBuilder;
  readonly dict: StateDict;
  readonly groups: number;
}

function silu(g: GraphBuilder, x: string): string {
  return sigmoidGate(g, x, 1);
}

/** diffusers' ResnetBlock2D without a time embedding (see the module's comment). */
function resnetBlock(st: Stage, x: string, prefix: string, inChannels: number, outChannels: number): string {
  const { g, dict, groups } = st;
  const h1 = conv2d(g, dict, silu(g, groupNorm(g, dict, x, `${prefix}.norm1`, inChannels, groups, DECODER_EPS)), `${prefix}.conv1`, inChannels, outChannels, 3, 1);
  const h2 = conv2d(g, dict, silu(g, groupNorm(g, dict, h1, `${prefix}.norm2`, outChannels, groups, DECODER_EPS)), `${prefix}.conv2`, outChannels, outChannels, 3, 1);
  const shortcut = inChannels === outChannels ? x : conv2d(g, dict, x, `${prefix}.conv_shortcut`, inChannels, outChannels, 1, 0);
  return g.op("Add", [shortcut, h2]);
}

/**
 * The attention projections' names in checkpoints saved before diffusers 0.15 (its AttentionBlock),
 * which diffusers renames when it loads them (ModelMixin._fix_state_dict_keys_on_load): same
 * nn.Linear weights, [C, C] and [C]. VQModel uploads of that time hold them (diffusers PR #2697
 * counted the Hub's checkpoints with AttentionBlock weights), microsoft/vq-diffusion-ithq's among the candidates.
 */
const LEGACY_ATTENTION_KEYS = { to_q: "query", to_k: "key", to_v: "value", "to_out.0": "proj_attn" } as const;

/** `prefix.name` (today's key), or `prefix.<legacy name>` when only that one is in the checkpoint. */
function attentionKey(dict: StateDict, prefix: string, name: keyof typeof LEGACY_ATTENTION_KEYS): string {
  const legacy = `${prefix}.${LEGACY_ATTENTION_KEYS[name]}`;
  return !dict.tensors.has(`${prefix}.${name}.weight`) && dict.tensors.has(`${legacy}.weight`) ? legacy : `${prefix}.${name}`;
}

/** diffusers' one-head spatial self-attention of the VAE blocks (see the module's comment). */
function attentionBlock(st: Stage, x: string, prefix: string, channels: number, grid: LatentGrid): string {
  const { g, dict, groups } = st;
  const normed = groupNorm(g, dict, x, `${prefix}.group_norm`, channels, groups, DECODER_EPS);
  const tokens = g.op("Transpose", [g.op("Reshape", [normed, g.ints([0, channels, -1], "flatten")])], { perm: attr.ints([0, 2, 1]) }); // [B, h·w, C]
  const project = (input: string, name: keyof typeof LEGACY_ATTENTION_KEYS): string => linear(g, dict, input, attentionKey(dict, prefix, name), channels, channels, true);
  const q = project(tokens, "to_q");
  const kT = g.op("Transpose", [project(tokens, "to_k")], { perm: attr.ints([0, 2, 1]) });
  const v = project(tokens, "to_v");
  const scores = g.op("Mul", [g.op("MatMul", [q, kT]), g.scalar(channels ** -0.5, "scale")]);
  const context = g.op("MatMul", [g.op("Softmax", [scores], { axis: attr.int(-1) }), v]);
  const out = project(context, "to_out.0");
  const image = g.op("Reshape", [g.op("Transpose", [out], { perm: attr.ints([0, 2, 1]) }), g.ints([0, channels, grid.height, grid.width], "unflatten")]);
  return g.op("Add", [image, x]);
}

/**
 * Builds `vqvae_decoder/model.onnx` from a VQModel's config and weights: input `indices` (int64
 * [batch, h·w], codebook indices in [0, num_vq_embeddings), row-major over the latent grid), output
 * `sample` (float32 [batch, out_channels, h·2^(levels−1), w·2^(levels−1)], about [−1, 1]).
 * Opset 17. Weights are read lazily, when the graph is written; only the decode path's are read
 * (`quantize.embedding.weight`, `post_quant_conv.*`, `decoder.*`).
 *
 * @param configFile - the config's path in the model folder, for messages.
 * @param options - the latent grid and how weights are stored ({@link VqvaeDecoderGraphOptions}).
 * @throws Error naming `configFile`, the key and the value for an unsupported config value
 *   ({@link vqModelDecoderSizes}); naming `options.grid` for a grid out of bounds (h·w ≤ 65 536); naming the weights file
 *   and the tensor when a tensor is missing or its shape disagrees with the config.
 * @example
 * ```ts
 * const g = buildVqvaeDecoderGraph(config, dict, "vqvae/config.json", { grid: { height: 32, width: 32 } });
 * ```
 */
export function buildVqvaeDecoderGraph(
  config: ComponentConfig,
  dict: StateDict,
  configFile = "vqvae/config.json",
  options: VqvaeDecoderGraphOptions = {},
): GraphBuilder {
  const s = vqModelDecoderSizes(config, configFile);
  const latent = options.grid ?? defaultGrid(s, configFile);
  for (const key of ["height", "width"] as const) {
    const v = latent[key];
    if (!Number.isInteger(v) || v < 1 || v > 65536) throw new Error(`buildVqvaeDecoderGraph: options.grid.${key}: expected an integer in [1, 65536], got ${String(v)}`);
  }
  if (latent.height * latent.width > 65536) {
    throw new Error(`buildVqvaeDecoderGraph: options.grid: expected at most 65536 positions, got ${latent.height} × ${latent.width}`);
  }
  const g = new GraphBuilder("vqvae_decoder", { floatStorage: options.floatStorage, linearWeights: options.linearWeights });
  const st: Stage = { g, dict, groups: s.normNumGroups };
  const N = latent.height * latent.width;
  const indices = g.input("indices", "int64", ["batch", N]);

  const codebook = floatWeight(g, dict, "quantize.embedding.weight", [s.numVqEmbeddings, s.vqEmbedDim]);
  const looked = g.op("Gather", [codebook, indices], { axis: attr.int(0) }); // [B, N, E]
  const grid4 = g.op("Reshape", [looked, g.ints([0, latent.height, latent.width, s.vqEmbedDim], "latent_shape")]);
  const quant = g.op("Transpose", [grid4], { perm: attr.ints([0, 3, 1, 2]) }); // [B, E, h, w]
  let x = conv2d(g, dict, quant, "post_quant_conv", s.vqEmbedDim, s.latentChannels, 1, 0);

  const channels = [...s.blockOutChannels].reverse();
  const widest = channels[0];
  x = conv2d(g, dict, x, "decoder.conv_in", s.latentChannels, widest, 3, 1);
  let size: LatentGrid = latent;
  x = g.scope("mid_block", () => {
    let h = resnetBlock(st, x, "decoder.mid_block.resnets.0", widest, widest);
    if (s.midBlockAddAttention) h = attentionBlock(st, h, "decoder.mid_block.attentions.0", widest, size);
    return resnetBlock(st, h, "decoder.mid_block.resnets.1", widest, widest);
  });
  let previous = widest;
  for (let i = 0; i < channels.length; i++) {
    const out = channels[i];
    const block = `decoder.up_blocks.${i}`;
    x = g.scope(`up_blocks.${i}`, () => {
      let h = x;
      for (let j = 0; j <= s.layersPerBlock; j++) {
        h = resnetBlock(st, h, `${block}.resnets.${j}`, j === 0 ? previous : out, out);
        if (s.upBlockTypes[i] === "AttnUpDecoderBlock2D") h = attentionBlock(st, h, `${block}.attentions.${j}`, out, size);
      }
      if (i < channels.length - 1) {
        // Upsample2D: F.interpolate(scale_factor=2, mode="nearest") (output pixel p reads input ⌊p/2⌋), then a 3 × 3 conv.
        const scales = g.constant("float32", [4], [1, 1, 2, 2], "scales");
        const up = g.op("Resize", [h, "", scales], {
          mode: attr.string("nearest"),
          coordinate_transformation_mode: attr.string("asymmetric"),
          nearest_mode: attr.string("floor"),
        });
        size = { height: size.height * 2, width: size.width * 2 };
        h = conv2d(g, dict, up, `${block}.upsamplers.0.conv`, out, out, 3, 1);
      }
      return h;
    });
    previous = out;
  }
  const narrow = channels[channels.length - 1];
  x = silu(g, groupNorm(g, dict, x, "decoder.conv_norm_out", narrow, s.normNumGroups, DECODER_EPS));
  const convOut = conv2d(g, dict, x, "decoder.conv_out", narrow, s.outChannels, 3, 1);
  const sample = g.op("Identity", [convOut], {}, { names: ["sample"] });
  g.output(sample, "float32", ["batch", s.outChannels, size.height, size.width]);
  return g;
}
