/**
 * float32 → float16 rounding for `dtype: "fp16"` (src/convert/float16Weights.ts): IEEE 754's
 * round-to-nearest-even, checked against the exact decoding of float16 (convert/weights.ts's
 * halfToFloat) on known values and on random float32s.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { float32BytesToHalf, halfBits } from "../src/convert/float16Weights.js";
import { halfToFloat } from "../src/convert/weights.js";

describe("halfBits", () => {
  it("known values (numpy's np.float16(x).view(np.uint16))", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00],
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [6.1035156e-5, 0x0400], [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2049, 0x6800], [2051, 0x6802],
    ];
    for (const [x, bits] of cases) expect(halfBits(x), String(x)).toBe(bits);
    expect(Number.isNaN(halfToFloat(halfBits(NaN)))).toBe(true);
  });

  it("is the nearest float16, ties to even, for any float32 in range", () => {
    fc.assert(
      fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (x) => {
        const h = halfBits(x);
        const v = halfToFloat(h);
        const err = Math.abs(v - x);
        // Neighbours one unit away in the float16 encoding (same sign).
        for (const n of [h - 1, h + 1]) {
          if ((n & 0x7fff) > 0x7bff || (n & 0x8000) !== (h & 0x8000) || n < 0) continue;
          const other = Math.abs(halfToFloat(n) - x);
          if (other < err || (other === err && (h & 1) === 1)) return false;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

describe("float32BytesToHalf", () => {
  it("converts little-endian bytes, and refuses a value past float16's range naming the weight", () => {
    const bytes = new Uint8Array(new Float32Array([1, -2, 0.5]).buffer);
    expect(Array.from(float32BytesToHalf(bytes, "w"))).toEqual([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]);
    expect(() => float32BytesToHalf(new Uint8Array(new Float32Array([0, 70000]).buffer), "proj_out.weight")).toThrow(
      'weight "proj_out.weight": expected values within float16\'s range (±65504) for dtype "fp16", got 70000 at element 1',
    );
  });
});
