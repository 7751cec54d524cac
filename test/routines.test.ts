/** The small shared routines, each with its edge cases: inverseCdf, logSumExpParts / logSumExpStrided, uniform24. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { logSumExpParts, logSumExpStrided } from "../src/math/logSpace.js";
import { inverseCdf } from "../src/random/inverseCdf.js";
import { uniform24 } from "../src/random/uniform24.js";

describe("inverseCdf", () => {
  it("returns the first index whose running sum passes the target, and the remainder inside it", () => {
    const w = Float64Array.of(1, 0, 3, 0.5);
    const rest = { value: NaN };
    expect(inverseCdf(w, 0, 4, 0, rest)).toBe(0);
    expect(rest.value).toBe(0);
    expect(inverseCdf(w, 0, 4, 0.999, rest)).toBe(0);
    expect(inverseCdf(w, 0, 4, 1, rest)).toBe(2);
    expect(rest.value).toBe(0);
    expect(inverseCdf(w, 0, 4, 3.75, rest)).toBe(2);
    expect(rest.value).toBe(2.75);
    expect(inverseCdf(w, 0, 4, 4.2, rest)).toBe(3);
    expect(rest.value).toBeCloseTo(0.2, 12);
  });
  it("never returns a zero weight: past the total (rounding) it takes the last positive one; -1 when none", () => {
    const rest = { value: NaN };
    expect(inverseCdf(Float64Array.of(2, 1, 0, 0), 0, 4, 3, rest)).toBe(1);
    expect(rest.value).toBe(1);
    expect(inverseCdf(Float64Array.of(0, 0), 0, 2, 0)).toBe(-1);
    expect(inverseCdf(Float64Array.of(9, 1, 1), 1, 3, 1.5)).toBe(2);
  });
  it("hits each index with probability proportional to its weight (every target of a fine grid)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 12 }), (ints) => {
        const w = Float64Array.from(ints);
        const total = ints.reduce((a, b) => a + b, 0);
        const counts = new Array(ints.length).fill(0);
        for (let k = 0; k < total * 4; k++) {
          const i = inverseCdf(w, 0, w.length, k / 4);
          if (total > 0) counts[i]++;
          else expect(i).toBe(-1);
        }
        if (total > 0) expect(counts).toEqual(ints.map((v) => v * 4));
      }),
    );
  });
});

describe("logSumExpParts / logSumExpStrided", () => {
  it("max and Σ exp(x − max), strided; ±inf and NaN columns", () => {
    const parts = { max: 0, sum: 0 };
    logSumExpParts(Float64Array.of(0, 9, Math.log(3), 9), 0, 2, 2, parts);
    expect(parts.max).toBe(Math.log(3));
    expect(parts.sum).toBeCloseTo(1 / 3 + 1, 15);
    expect(logSumExpStrided(Float64Array.of(0, 9, Math.log(3), 9), 0, 2, 2)).toBeCloseTo(Math.log(4), 15);
    logSumExpParts(Float64Array.of(-Infinity, -Infinity), 0, 1, 2, parts);
    expect(parts).toEqual({ max: -Infinity, sum: 0 });
    expect(logSumExpStrided(Float64Array.of(-Infinity, -Infinity), 0, 1, 2)).toBe(-Infinity);
    expect(logSumExpStrided(Float64Array.of(1, Infinity), 0, 1, 2)).toBe(Infinity);
    logSumExpParts(Float64Array.of(1, NaN, 2), 0, 1, 3, parts);
    expect(parts.max).toBeNaN();
    expect(logSumExpStrided(Float64Array.of(1, NaN, 2), 0, 1, 3)).toBeNaN();
  });
  it("does not overflow for large entries, and equals log Σ exp in range", () => {
    expect(logSumExpStrided(Float64Array.of(1000, 1000), 0, 1, 2)).toBeCloseTo(1000 + Math.LN2, 12);
    fc.assert(
      fc.property(fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 1, maxLength: 20 }), (xs) => {
        const direct = Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
        expect(logSumExpStrided(Float64Array.from(xs), 0, 1, xs.length)).toBeCloseTo(direct, 10);
      }),
    );
  });
});

describe("uniform24", () => {
  it("is torch.rand's float32 value of a draw: the low 24 bits over 2^24, exact in float32", () => {
    expect(uniform24(0)).toBe(0);
    expect(uniform24(0xffffffff)).toBe(1 - 2 ** -24);
    expect(uniform24(0x01000000)).toBe(0);
    expect(uniform24(-1)).toBe(1 - 2 ** -24);
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (d) => {
      expect(Math.fround(uniform24(d))).toBe(uniform24(d));
    }));
  });
});
