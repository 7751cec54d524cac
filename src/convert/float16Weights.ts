/**
 * `dtype: "fp16"`: a graph's float32 weights stored as IEEE float16 (half the bytes on disk and over
 * the network), each followed by a Cast back to float32, so that every operator still computes in
 * float32 as the graph was built (onnxruntime folds these Casts into float32 constants when it loads
 * the model). Rounding is IEEE 754's round-to-nearest-even, as numpy's and torch's `.half()`.
 */
import { attr, type GraphBuilder, type LazyInitializer } from "./onnx/graphBuilder.js";

/** The largest finite float16. */
const HALF_MAX = 65504;

/**
 * The float16 bits of `value`, rounded to nearest, ties to even (IEEE 754), as `np.float16(value)`.
 * Values of magnitude 65520 or more become ±Infinity; NaN stays NaN.
 *
 * @example
 * ```ts
 * halfBits(1); // 0x3c00
 * halfBits(-2); // 0xc000
 * halfBits(1 + 2 ** -11); // 0x3c00 (a tie, to even)
 * ```
 */
export function halfBits(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    const m = mantissa | 0x800000; // the implicit bit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let out = m >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out += 1;
    return sign | out;
  }
  let out = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out += 1; // a carry into the exponent is right (up to Infinity)
  return sign | out;
}

/**
 * Little-endian float32 bytes as little-endian float16 bytes.
 *
 * @param name - the weight, for the message.
 * @throws Error naming the weight when a finite value is past float16's range (±65504), which
 *   would become infinite.
 * @example
 * ```ts
 * float32BytesToHalf(new Uint8Array(new Float32Array([1, -2]).buffer), "w"); // 4 bytes: 00 3c 00 c0
 * ```
 */
export function float32BytesToHalf(bytes: Uint8Array, name: string): Uint8Array {
  const count = bytes.length / 4;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint8Array(count * 2);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const v = view.getFloat32(4 * i, true);
    if (Number.isFinite(v) && Math.abs(v) >= HALF_MAX + 16) {
      throw new Error(`weight "${name}": expected values within float16's range (±${HALF_MAX}) for dtype "fp16", got ${v} at element ${i}`);
    }
    outView.setUint16(2 * i, halfBits(v), true);
  }
  return out;
}

/**
 * Rewrites `graph` in place: every float32 weight of at least `minBytes` bytes is stored as float16
 * under a new name, and a Cast node (to float32) placed first in the graph gives the old name its
 * float32 value. Returns the number of weights rewritten.
 *
 * @example
 * ```ts
 * storeWeightsAsFloat16(graph, 1024); // then writeOnnxModel(graph, …)
 * ```
 */
export function storeWeightsAsFloat16(graph: GraphBuilder, minBytes: number): number {
  const casts: { from: string; to: string }[] = [];
  graph.weights.forEach((w, i) => {
    if (w.elemType !== "float32" || w.byteLength < minBytes) return;
    const stored = graph.fresh(`${w.name}.float16`);
    const half: LazyInitializer = {
      name: stored,
      elemType: "float16",
      dims: w.dims,
      byteLength: w.byteLength / 2,
      bytes: async (signal) => float32BytesToHalf(await w.bytes(signal), w.name),
    };
    graph.weights[i] = half;
    casts.push({ from: stored, to: w.name });
  });
  graph.nodes.unshift(
    ...casts.map(({ from, to }) => ({ opType: "Cast", domain: "", name: graph.fresh(`${to}.cast`), inputs: [from], outputs: [to], attributes: { to: attr.int(1) } })),
  );
  return casts.length;
}
