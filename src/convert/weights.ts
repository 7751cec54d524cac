/**
 * The checkpoint's tensors as graph weights: looked up by key with their shape checked against
 * what the component's config implies, then read lazily (one at a time, when the model is written)
 * and widened to float32 or laid out for ONNX's MatMul.
 */
import type { CheckpointTensor, StateDict } from "../formats/checkpointTensor.js";
import { attr, type GraphBuilder } from "./onnx/graphBuilder.js";
import { quantizeColumnsInt8, type QuantizedWeight } from "./quantize.js";

/** IEEE half → float (exact: every float16 is a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

let HALF_TABLE: Float32Array | undefined;

/** Every float16 bit pattern's float32 value (made once, 256 KiB). */
function halfTable(): Float32Array {
  if (HALF_TABLE === undefined) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALF_TABLE[h] = halfToFloat(h);
  }
  return HALF_TABLE;
}

/**
 * float → IEEE half, rounded to nearest, ties to even (as numpy's `astype(float16)`); values beyond
 * the largest half (65504, and up to half a step past it) become ±Infinity, NaN stays NaN.
 *
 * @example
 * ```ts
 * floatToHalf(1); // 0x3c00
 * floatToHalf(65520); // 0x7c00 (Infinity)
 * ```
 */
export function floatToHalf(value: number): number {
  // On the float32's bits (as numpy's npy_floatbits_to_halfbits): ~10x faster than through
  // Math.log2 and powers, which mattered for ITHQ's 1.4 G weights (dtype "fp16": 220 s before).
  FLOAT_BITS_F32[0] = value;
  const x = FLOAT_BITS_U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return mantissa !== 0 ? 0x7e00 : sign | 0x7c00;
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // a subnormal half (or 0): the mantissa with its implicit bit, shifted and rounded to nearest even
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out += 1; // 1024 carries into the smallest normal
    return sign | out;
  }
  let out = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out += 1; // a carry into the exponent is right, up to Infinity
  return sign | out;
}

const FLOAT_BITS_F32 = new Float32Array(1);
const FLOAT_BITS_U32 = new Uint32Array(FLOAT_BITS_F32.buffer);

/**
 * A tensor's elements as float32 little-endian bytes: float32 as read, float16 and bfloat16 widened
 * exactly. int64 is refused.
 *
 * @throws Error naming the file and the tensor for an int64 tensor.
 * @example
 * ```ts
 * const bytes = await readFloat32(dict, tensor); // tensor.shape's product × 4 bytes
 * ```
 */
export async function readFloat32(dict: StateDict, tensor: CheckpointTensor, signal?: AbortSignal): Promise<Uint8Array> {
  const raw = await tensor.read(signal);
  if (tensor.dtype === "float32") return raw;
  const count = raw.length / 2;
  const out = new Float32Array(count);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (tensor.dtype === "float16") {
    // A table of the 65 536 halves: ~20x faster than halfToFloat per element (ITHQ's fp16 variant
    // has 1.4 G of them), and the same values.
    const table = halfTable();
    for (let i = 0; i < count; i++) out[i] = table[view.getUint16(2 * i, true)];
  } else if (tensor.dtype === "bfloat16") {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  } else {
    throw new Error(`${dict.file}: tensor "${tensor.name}": expected a floating-point dtype (float32, float16 or bfloat16), got ${tensor.dtype}`);
  }
  return new Uint8Array(out.buffer);
}

/**
 * The tensor `key` of `dict`, checked to have `shape`.
 *
 * @param shape - the dimensions the component's config implies.
 * @throws Error naming the file and the key when the tensor is missing or its shape differs.
 * @example
 * ```ts
 * const w = expectTensor(dict, "norm_out.weight", [512]);
 * ```
 */
export function expectTensor(dict: StateDict, key: string, shape: readonly number[]): CheckpointTensor {
  const tensor = dict.tensors.get(key);
  if (tensor === undefined) throw new Error(`${dict.file}: expected a tensor "${key}" of shape [${shape.join(", ")}], got no such key`);
  if (tensor.shape.length !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${dict.file}: tensor "${key}": expected shape [${shape.join(", ")}] (from the component's config.json), got [${tensor.shape.join(", ")}]`);
  }
  return tensor;
}

/**
 * Adds the float weight `key` of `dict` to the graph, its shape checked, and returns the name of its
 * float32 value: the weight itself, or, when `g.floatStorage` is "float16", the weight stored as
 * float16 (rounded to nearest even) and a Cast to float32 after it.
 *
 * @example
 * ```ts
 * const bias = floatWeight(g, dict, "proj_out.bias", [4095]);
 * ```
 */
export function floatWeight(g: GraphBuilder, dict: StateDict, key: string, shape: readonly number[]): string {
  const tensor = expectTensor(dict, key, shape);
  return storedFloat(g, key, shape, (signal) => readFloat32(dict, tensor, signal));
}

/**
 * A float32 weight as the graph stores it (`g.floatStorage`): the value name of its float32 form.
 *
 * @example
 * ```ts
 * const w = storedFloat(g, "conv.weight", [8, 4, 3, 3], () => readFloat32(dict, tensor));
 * ```
 */
export function storedFloat(g: GraphBuilder, name: string, shape: readonly number[], float32: (signal?: AbortSignal) => Promise<Uint8Array>): string {
  if (g.floatStorage === "float32") return g.weight(name, "float32", shape, float32);
  const half = g.weight(`${name}_fp16`, "float16", shape, async (signal) => {
    const bytes = await float32(signal);
    const src = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const out = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]);
    return new Uint8Array(out.buffer);
  });
  return g.op("Cast", [half], { to: attr.int(1) }, { names: [name] });
}

/**
 * Transposes a row-major [rows, cols] float32 matrix (as bytes) into [cols, rows].
 *
 * @example
 * ```ts
 * transposeFloat32(bytes, 2, 3); // [2, 3] → [3, 2]
 * ```
 */
export function transposeFloat32(bytes: Uint8Array, rows: number, cols: number): Uint8Array {
  const src = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c];
  return new Uint8Array(out.buffer);
}

/**
 * PyTorch's `nn.Linear` as ONNX: `x @ Wᵀ (+ b)`, `x` [..., in] → [..., out]. W ([out, in] in the
 * checkpoint) is stored transposed as [in, out], so that no Transpose node runs:
 * - `g.linearWeights` "float32": MatMul on the float32 weight, then Add of the bias;
 * - "int8": onnxruntime's DynamicQuantizeMatMul on int8 weights with a float32 scale per output
 *   column and the bias fused (convert/quantize.ts says why this form). The tensor is read once: its
 *   values and its scales come from one quantization.
 *
 * @param prefix - the module's key (`transformer_blocks.0.attn1.to_q`): reads `prefix.weight` and,
 *   when `bias`, `prefix.bias`.
 * @example
 * ```ts
 * const q = linear(g, dict, x, "transformer_blocks.0.attn1.to_q", 512, 512, false);
 * ```
 */
export function linear(g: GraphBuilder, dict: StateDict, x: string, prefix: string, inFeatures: number, outFeatures: number, bias: boolean): string {
  const tensor = expectTensor(dict, `${prefix}.weight`, [outFeatures, inFeatures]);
  const transposed = async (signal?: AbortSignal) => transposeFloat32(await readFloat32(dict, tensor, signal), outFeatures, inFeatures);
  const b = bias ? floatWeight(g, dict, `${prefix}.bias`, [outFeatures]) : undefined;
  if (g.linearWeights === "int8") {
    let quantized: Promise<QuantizedWeight> | undefined;
    const quantize = (signal?: AbortSignal) =>
      (quantized ??= transposed(signal).then((bytes) => quantizeColumnsInt8(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), inFeatures, outFeatures)));
    const values = g.weight(`${prefix}.weight_quantized`, "int8", [inFeatures, outFeatures], async (signal) => {
      const { values } = await quantize(signal);
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    });
    const scales = g.weight(`${prefix}.weight_scale`, "float32", [outFeatures], async (signal) => {
      const { scales } = await quantize(signal);
      quantized = undefined; // both written: let the matrix go
      return new Uint8Array(scales.buffer, scales.byteOffset, scales.byteLength);
    });
    return g.op("DynamicQuantizeMatMul", b === undefined ? [x, values, scales] : [x, values, scales, "", b], {}, { domain: "com.microsoft" });
  }
  const y = g.op("MatMul", [x, storedFloat(g, `${prefix}.weight`, [inFeatures, outFeatures], transposed)]);
  return b === undefined ? y : g.op("Add", [y, b]);
}

/**
 * PyTorch's `nn.LayerNorm` over the last axis (ONNX LayerNormalization, opset 17).
 *
 * @example
 * ```ts
 * const h = layerNorm(g, dict, x, "transformer_blocks.0.norm3", 512, 1e-5);
 * ```
 */
export function layerNorm(g: GraphBuilder, dict: StateDict, x: string, prefix: string, width: number, epsilon: number): string {
  const scale = floatWeight(g, dict, `${prefix}.weight`, [width]);
  const bias = floatWeight(g, dict, `${prefix}.bias`, [width]);
  return g.op("LayerNormalization", [x, scale, bias], { axis: attr.int(-1), epsilon: attr.float(epsilon) });
}
