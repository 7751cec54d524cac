/**
 * Truncation's fast loop (one selection pass for the first kept classes, then the tail decided by a
 * weighted quickselect, or, with top-k or within 1e-12 of a boundary, a native sort of packed float64
 * keys) against the plain loop it replaces (a comparator sort of every pixel): the same order for any
 * values (ties, −0 and +0, −inf, huge and tiny magnitudes), and the same truncated tensors at every
 * rate and top-k, on coarse and on normalised pixels.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sortedByComparator, sortedBySortKey, truncateFast, truncatePlain } from "../src/sampling/truncation.js";

const value = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-Infinity, -0, 0, -1, -1e-45, 1e-45, -3.4e38, Math.fround(Math.log(0.5))),
);

/** A small deterministic stream of numbers in [0, 1) (a linear congruential generator) for building inputs. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** Truncates `src` (B, C, N) with the fast loop and with the plain one, and expects the same tensor. */
function expectFastEqualsPlain(src: Float32Array, B: number, C: number, N: number, r: number, k: number): void {
  const plain = src.slice();
  const fast = src.slice();
  truncatePlain(src, plain, B, C, N, Math.fround(r), k);
  truncateFast(src, fast, B, C, N, Math.fround(r), k);
  expect(Array.from(fast)).toEqual(Array.from(plain));
}

describe("truncation sorters", () => {
  it("the key sort orders classes as the comparator sort: value descending, then class ascending", () => {
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), (list) => {
        const values = Float32Array.from(list);
        const a = new Int32Array(values.length);
        const b = new Int32Array(values.length);
        const keys = new Float64Array(values.length);
        sortedByComparator(values, a, keys);
        sortedBySortKey(values, b, keys);
        expect(Array.from(b)).toEqual(Array.from(a));
      }),
      { seed: 5, numRuns: 500 },
    );
  });

  it("the fast loop gives the plain loop's truncated tensors, at every rate and top-k, confident or flat pixels", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(0.1, 0.5, 0.9, 0.99, 1),
        fc.constantFrom(Infinity, 1, 3, 8, 9, 20),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (C, N, r, k, seed) => {
          const next = lcg(seed);
          // Coarse values (many ties), some −inf, and pixels from flat to confident (scale up to 40).
          const scale = 1 + 40 * next();
          const src = Float32Array.from({ length: 2 * C * N }, () => (next() < 0.1 ? -Infinity : Math.round(-scale * next() * 4) / 4));
          expectFastEqualsPlain(src, 2, C, N, r, k);
        },
      ),
      { seed: 6, numRuns: 300 },
    );
  });

  it("the fast loop gives the plain loop's tensors on normalised pixels, where rate 1 cuts (or not) within rounding of the total", () => {
    // log-softmax columns in float32, as guidance leaves them: Σ p is 1 within rounding, so at rate 1
    // whether and where the float32 running sum reaches 1 is decided by the last few ulps.
    fc.assert(
      fc.property(
        fc.integer({ min: 9, max: 300 }),
        fc.constantFrom(1, Math.fround(1 - 2 ** -24), 0.99999, 0.999, 0.9),
        fc.double({ min: 0.1, max: 30, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (C, r, scale, seed) => {
          const next = lcg(seed);
          const N = 3;
          const src = new Float32Array(C * N);
          for (let n = 0; n < N; n++) {
            const col = Array.from({ length: C }, () => Math.round(scale * next() * 64) / 64);
            const m = Math.max(...col);
            const lse = m + Math.log(col.reduce((a, v) => a + Math.exp(v - m), 0));
            col.forEach((v, c) => (src[c * N + n] = Math.fround(v - lse)));
          }
          expectFastEqualsPlain(src, 1, C, N, r, Infinity);
        },
      ),
      { seed: 7, numRuns: 1000 },
    );
  });

  it("the tail decision: slack near 0, a light set that just fits, ties across the cut, −inf classes", () => {
    const cases: number[][] = [
      // Σ p = 1 exactly in float64 (powers of two): at rate 1 the running sum reaches 1 only at the end.
      [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -10].map((v) => v * Math.LN2),
      // Ties at the cut, and −inf at the end.
      [...Array(12).fill(Math.log(1 / 12)), -Infinity, -Infinity],
      // Many equal light classes after a heavy head.
      [Math.log(0.999), ...Array(40).fill(Math.log(0.001 / 40))],
    ];
    for (const col of cases) {
      for (const r of [1, 0.999, 0.5]) expectFastEqualsPlain(Float32Array.from(col), 1, col.length, 1, r, Infinity);
    }
  });
});
