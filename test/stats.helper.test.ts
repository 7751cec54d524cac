/** The chi-square helper itself: known quantiles, and its verdict on fair and unfair dice. */
import { describe, expect, it } from "vitest";
import { chiSquareTest, gammaQ } from "./helpers/chiSquare.mjs";

describe("chi-square helper", () => {
  it("matches tabulated upper quantiles", () => {
    expect(gammaQ(1 / 2, 3.841458820694124 / 2)).toBeCloseTo(0.05, 10); // df 1
    expect(gammaQ(10 / 2, 23.209251158954356 / 2)).toBeCloseTo(0.01, 10); // df 10
    expect(gammaQ(100 / 2, 124.34211340400407 / 2)).toBeCloseTo(0.05, 9); // df 100
  });
  it("accepts counts drawn from the distribution and rejects a biased one", () => {
    const p = [0.1, 0.2, 0.3, 0.4];
    expect(chiSquareTest([1000, 2000, 3000, 4000], p).p).toBeGreaterThan(0.99);
    expect(chiSquareTest([1100, 2000, 3000, 3900], p).p).toBeCloseTo(0.00585, 4); // statistic 12.5, df 3
    expect(chiSquareTest([1200, 2000, 3000, 3800], p).p).toBeLessThan(1e-9);
    expect(chiSquareTest([1, 0], [0, 1]).p).toBe(0);
  });
});
