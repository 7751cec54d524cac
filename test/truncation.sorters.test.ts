/**
 * Truncation's fast sorter (one native sort of packed float64 keys) against the plain comparator
 * sort it replaces: the same order for any values (ties, −0 and +0, −inf, huge and tiny magnitudes),
 * and so the same truncated tensors.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sortedByComparator, sortedBySortKey, truncateInPlace } from "../src/sampling/truncation.js";

const value = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-Infinity, -0, 0, -1, -1e-45, 1e-45, -3.4e38, Math.fround(Math.log(0.5))),
);

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

  it("both give the same truncated tensors, at every rate and top-k", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(0.1, 0.5, 0.9, 0.99, 1),
        fc.constantFrom(Infinity, 1, 3, 10),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (C, N, r, k, seed) => {
          let x = seed;
          const next = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
          const src = Float32Array.from({ length: 2 * C * N }, () => (next() < 0.1 ? -Infinity : Math.round(-8 * next() * 4) / 4));
          const a = src.slice();
          const b = src.slice();
          truncateInPlace(src, a, 2, C, N, Math.fround(r), k, sortedByComparator);
          truncateInPlace(src, b, 2, C, N, Math.fround(r), k, sortedBySortKey);
          expect(Array.from(b)).toEqual(Array.from(a));
        },
      ),
      { seed: 6, numRuns: 300 },
    );
  });
});
