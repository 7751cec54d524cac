/**
 * Weight-only int8 quantization (src/convert/quantize.ts) and the int8 form of `linear`
 * (DynamicQuantizeMatMul in onnxruntime-node) against float32 arithmetic.
 */
import fc from "fast-check";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder, type LinearWeights } from "../src/convert/onnx/graphBuilder.js";
import { writeOnnxModel } from "../src/convert/onnx/writeOnnxModel.js";
import { quantizeColumnsInt8 } from "../src/convert/quantize.js";
import { floatToHalf, halfToFloat, linear } from "../src/convert/weights.js";
import { memoryStateDict } from "./helpers/memoryStateDict.js";

describe("quantizeColumnsInt8", () => {
  it("each value is within half a step of its column's scale, and each column above 127 · 2^-126 reaches ±127", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 36, maxLength: 36 }), (rows, cols, pool) => {
        const w = Float32Array.from({ length: rows * cols }, (_, i) => pool[i]);
        const { values, scales } = quantizeColumnsInt8(w, rows, cols);
        for (let n = 0; n < cols; n++) {
          let peak = 0;
          for (let k = 0; k < rows; k++) {
            const q = values[k * cols + n];
            expect(Math.abs(w[k * cols + n] - scales[n] * q)).toBeLessThanOrEqual(scales[n] / 2 + 1e-6 * Math.abs(w[k * cols + n]));
            peak = Math.max(peak, Math.abs(q));
          }
          const tiny = Array.from({ length: rows }, (_, k) => Math.abs(w[k * cols + n])).every((v) => v < 127 * 2 ** -126);
          if (!tiny) expect(peak).toBe(127);
        }
      }),
    );
  });
  it("the docstring's example", () => {
    const { values, scales } = quantizeColumnsInt8(new Float32Array([0.5, -2, 1, 1]), 2, 2);
    expect([...values]).toEqual([64, -127, 127, 64]);
    expect(scales[0]).toBeCloseTo(1 / 127, 9);
    expect(scales[1]).toBeCloseTo(2 / 127, 9);
  });
  it("refuses NaN and infinities, and a size that is not rows × cols", () => {
    expect(() => quantizeColumnsInt8(new Float32Array([1, NaN]), 1, 2)).toThrow("weights: expected finite values, got NaN at [0, 1]");
    expect(() => quantizeColumnsInt8(new Float32Array([Infinity]), 1, 1)).toThrow("weights: expected finite values, got Infinity at [0, 0]");
    expect(() => quantizeColumnsInt8(new Float32Array(5), 2, 3)).toThrow("weights: expected 2 × 3 = 6 values, got 5");
  });
});

describe("linear: float32 and int8 forms in onnxruntime", () => {
  const IN = 48, OUT = 40, ROWS = 6;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const weight = Float32Array.from({ length: OUT * IN }, rnd); // [out, in], PyTorch's layout
  const bias = Float32Array.from({ length: OUT }, rnd);
  const x = Float32Array.from({ length: ROWS * IN }, rnd);
  const dict = memoryStateDict("layer.safetensors", { "proj.weight": [[OUT, IN], weight], "proj.bias": [[OUT], bias] });
  const expected = new Float64Array(ROWS * OUT);
  for (let r = 0; r < ROWS; r++) for (let o = 0; o < OUT; o++) {
    let s = bias[o];
    for (let i = 0; i < IN; i++) s += x[r * IN + i] * weight[o * IN + i];
    expected[r * OUT + o] = s;
  }
  async function run(form: LinearWeights): Promise<{ y: Float32Array; ops: string[] }> {
    const g = new GraphBuilder("linear", { linearWeights: form });
    const input = g.input("x", "float32", [ROWS, IN]);
    const y = linear(g, dict, input, "proj", IN, OUT, true);
    g.output(g.op("Identity", [y], {}, { names: ["y"] }), "float32", [ROWS, OUT]);
    const { model } = await writeOnnxModel(g, { writeData: async () => undefined, externalThreshold: Infinity });
    const session = await ort.InferenceSession.create(model);
    const out = await session.run({ x: new ort.Tensor("float32", x, [ROWS, IN]) });
    return { y: out.y.data as Float32Array, ops: g.nodes.map((n) => n.opType) };
  }
  it("float32: MatMul then Add, equal to the float64 product within float32 rounding", async () => {
    const { y, ops } = await run("float32");
    expect(ops).toEqual(["MatMul", "Add", "Identity"]);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - expected[i])).toBeLessThan(1e-5);
  });
  it("int8: one DynamicQuantizeMatMul, within 2 % of the outputs' range", async () => {
    const { y, ops } = await run("int8");
    expect(ops).toEqual(["DynamicQuantizeMatMul", "Identity"]);
    const range = Math.max(...expected.map(Math.abs));
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - expected[i]));
    expect(worst).toBeLessThan(0.02 * range);
    expect(worst).toBeGreaterThan(0); // it is quantized
  });
});

describe("float16 storage", () => {
  // Every finite half, ascending, for the brute-force nearest.
  const halves: { bits: number; value: number }[] = [];
  for (let bits = 0; bits < 0x7c00; bits++) halves.push({ bits, value: halfToFloat(bits) });
  function nearest(x: number): number {
    const a = Math.abs(Math.fround(x));
    const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
    if (a >= 65520) return sign | 0x7c00;
    let lo = 0, hi = halves.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (halves[mid].value <= a) lo = mid;
      else hi = mid;
    }
    const dl = a - halves[lo].value, dh = halves[hi].value - a;
    const pick = dl < dh ? lo : dh < dl ? hi : halves[lo].bits % 2 === 0 ? lo : hi;
    return sign | halves[a >= halves[hi].value ? hi : pick].bits;
  }
  it("floatToHalf is the nearest half, ties to even, for any float32", () => {
    fc.assert(fc.property(fc.float({ noNaN: true }), (x) => {
        expect(floatToHalf(x)).toBe(nearest(x));
      }), { numRuns: 3000 });
    for (const x of [0, -0, 1, 65504, 65519.99, 65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14, 1 + 2 ** -11, 1 + 3 * 2 ** -11]) expect(floatToHalf(x)).toBe(nearest(x));
    expect(floatToHalf(NaN)).toBe(0x7e00);
  });
  it("a float16-stored linear layer is its float32 result on the rounded weights", async () => {
    const g = new GraphBuilder("half", { floatStorage: "float16" });
    const dict = memoryStateDict("w.safetensors", { "p.weight": [[2, 3], new Float32Array([0.1, 0.2, 0.3, -1, 1e-5, 60000])] });
    const x = g.input("x", "float32", [1, 3]);
    g.output(g.op("Identity", [linear(g, dict, x, "p", 3, 2, false)], {}, { names: ["y"] }), "float32", [1, 2]);
    expect(g.weights.map((w) => [w.name, w.elemType])).toEqual([["p.weight_fp16", "float16"]]);
    const { model } = await writeOnnxModel(g, { writeData: async () => undefined, externalThreshold: Infinity });
    const out = await (await ort.InferenceSession.create(model)).run({ x: new ort.Tensor("float32", new Float32Array([1, 2, 0]), [1, 3]) });
    const r = (v: number) => halfToFloat(floatToHalf(v));
    expect([...(out.y.data as Float32Array)]).toEqual([Math.fround(r(0.1) + 2 * r(0.2)), Math.fround(r(-1) + 2 * r(1e-5))]);
  });
});
