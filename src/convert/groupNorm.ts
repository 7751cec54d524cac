/**
 * PyTorch's `nn.GroupNorm` (affine) on [B, C, …] as ONNX opset-17 nodes:
 * Reshape to [B, G, −1] → InstanceNormalization (scale 1, bias 0 per group) → Reshape back →
 * Mul by γ and Add β, each [C, 1, …, 1].
 *
 * Why this form and not ONNX's GroupNormalization: opset 18's GroupNormalization took its scale and
 * bias per *group* (a specification error; opset 21 changed them to per channel and deprecated 18),
 * and onnxruntime 1.30's CPU provider has no kernel for opset 21's: it expands the function (at
 * ITHQ's VQ decoder, 33 norms become 66 ReduceMean, 66 Sub, 66 Div, 33 Sqrt, 165 Cast and 270
 * Reshape nodes in the optimized graph, and the decoder takes 5 % more CPU time a run), while
 * InstanceNormalization has a CPU kernel that normalises each (batch, group) row in one pass. It is also what PyTorch's ONNX exporter writes
 * for GroupNorm (the Python export of the same model has 33 InstanceNormalization nodes), so both
 * run the same kernels. Opset 17 also gives LayerNormalization (the text encoder's), so one opset
 * serves every component.
 *
 * Formula (PyTorch's GroupNorm): y = (x − mean_g) / sqrt(var_g + eps) · γ_c + β_c, mean and
 * (biased) variance over the channels of group g and every spatial position.
 */
import type { StateDict } from "../formats/checkpointTensor.js";
import { attr, type GraphBuilder } from "./onnx/graphBuilder.js";
import { expectTensor, readFloat32, storedFloat } from "./weights.js";

/**
 * Group normalization of `x` (float32 [B, C, d1, …, dk], k = `spatialRank`) with the checkpoint's
 * `prefix.weight` and `prefix.bias` ([C] each); returns a value of x's shape.
 *
 * @param groups - the number of groups G; C must be a multiple of it (the caller checks the config).
 * @throws Error naming the file and the key when γ or β is missing or not [C].
 * @example
 * ```ts
 * const h = groupNorm(g, dict, x, "decoder.conv_norm_out", 128, 32, 1e-6); // x [B, 128, H, W]
 * ```
 */
export function groupNorm(g: GraphBuilder, dict: StateDict, x: string, prefix: string, channels: number, groups: number, epsilon: number, spatialRank = 2): string {
  const trailing = new Array<number>(spatialRank).fill(1);
  const affine = (key: string): string => {
    const tensor = expectTensor(dict, key, [channels]);
    return storedFloat(g, key, [channels, ...trailing], (signal) => readFloat32(dict, tensor, signal));
  };
  const gamma = affine(`${prefix}.weight`);
  const beta = affine(`${prefix}.bias`);
  const grouped = g.op("Reshape", [x, g.ints([0, groups, -1], "groups_shape")]);
  const ones = g.constant("float32", [groups], new Array<number>(groups).fill(1), "ones");
  const zeros = g.constant("float32", [groups], new Array<number>(groups).fill(0), "zeros");
  const normalized = g.op("InstanceNormalization", [grouped, ones, zeros], { epsilon: attr.float(epsilon) });
  const restored = g.op("Reshape", [normalized, g.op("Shape", [x])]);
  return g.op("Add", [g.op("Mul", [restored, gamma]), beta]);
}
