/**
 * PyTorch's `nn.Conv2d` (stride 1, square kernel, zero padding, no groups or dilation: every
 * convolution of diffusers' VQModel decoder) as one ONNX Conv node.
 */
import type { StateDict } from "../formats/checkpointTensor.js";
import { attr, type GraphBuilder } from "./onnx/graphBuilder.js";
import { expectTensor, floatWeight, readFloat32, storedFloat } from "./weights.js";

/**
 * `y = conv2d(x, W, b)` with W of shape [outChannels, inChannels, kernel, kernel] (the checkpoint's
 * layout, which is ONNX Conv's) and `padding` zeros on every side. `x` is float32
 * [B, inChannels, H, W]; the result is [B, outChannels, H + 2·padding − kernel + 1, …]. The weight
 * and bias are stored as `g.floatStorage` says (float32, or float16 widened by a Cast).
 *
 * @param prefix - the module's key (`decoder.conv_in`): reads `prefix.weight` and `prefix.bias`.
 * @throws Error naming the file and the key when a tensor is missing or its shape is not the one
 *   the config implies.
 * @example
 * ```ts
 * const h = conv2d(g, dict, x, "decoder.conv_in", 256, 512, 3, 1); // [B, 256, h, w] → [B, 512, h, w]
 * ```
 */
export function conv2d(g: GraphBuilder, dict: StateDict, x: string, prefix: string, inChannels: number, outChannels: number, kernel: number, padding: number): string {
  const shape = [outChannels, inChannels, kernel, kernel];
  const tensor = expectTensor(dict, `${prefix}.weight`, shape);
  const w = storedFloat(g, `${prefix}.weight`, shape, (signal) => readFloat32(dict, tensor, signal));
  const b = floatWeight(g, dict, `${prefix}.bias`, [outChannels]);
  return g.op("Conv", [x, w, b], {
    kernel_shape: attr.ints([kernel, kernel]),
    pads: attr.ints([padding, padding, padding, padding]),
    strides: attr.ints([1, 1]),
  });
}
