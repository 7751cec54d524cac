/**
 * The activation functions the graph builders write, each in the node order that onnxruntime's CPU
 * optimizer fuses into one operator (QuickGelu, Gelu), so that every builder gets the fused form.
 */
import type { GraphBuilder } from "./onnx/graphBuilder.js";

/**
 * x · σ(α · x): SiLU (PyTorch's nn.SiLU, diffusers' "silu"/"swish") at α = 1; transformers'
 * quick_gelu and diffusers' ApproximateGELU at α = 1.702. onnxruntime fuses it into QuickGelu.
 *
 * @example
 * ```ts
 * const y = sigmoidGate(g, x, 1); // SiLU
 * ```
 */
export function sigmoidGate(g: GraphBuilder, x: string, alpha: number): string {
  const s = g.op("Sigmoid", [alpha === 1 ? x : g.op("Mul", [x, g.scalar(alpha, "alpha")])]);
  return g.op("Mul", [x, s]);
}

/**
 * PyTorch's exact GELU, x · ½(1 + erf(x / √2)) (nn.GELU(), transformers' "gelu"), as torch's
 * exporter writes it (Div, Erf, Add, Mul, Mul), which onnxruntime fuses into one Gelu.
 *
 * @example
 * ```ts
 * const y = gelu(g, x);
 * ```
 */
export function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op("Erf", [g.op("Div", [x, g.scalar(Math.SQRT2, "sqrt2")])]);
  const y = g.op("Mul", [x, g.op("Add", [erf, g.scalar(1, "one")])]);
  return g.op("Mul", [y, g.scalar(0.5, "half")]);
}
