/**
 * The detached-blob measure (test/helpers/detachedBlob.mjs) on hand-drawn images: each clause of the
 * definition (threshold 100, 8-connectivity, at least 3 pixels, Chebyshev distance at least 3 from the
 * largest component) decides one case.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { brightComponents, chebyshevDistance, hasDetachedBlob } from "./helpers/detachedBlob.mjs";

/** A grey image from rows of characters: '#' is 255, '+' is 100 (bright, at the threshold), '-' is 99, '.' is 0. */
function draw(rows: string[]): { grey: Uint8Array; width: number; height: number } {
  const width = rows[0].length;
  const grey = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((c, x) => (grey[y * width + x] = c === "#" ? 255 : c === "+" ? 100 : c === "-" ? 99 : 0)));
  return { grey, width, height: rows.length };
}
const blob = (rows: string[]) => {
  const { grey, width, height } = draw(rows);
  return hasDetachedBlob(grey, width, height);
};

describe("detached blob", () => {
  it("a speck of 3 pixels two dark pixels away from the garment is detached", () => {
    expect(blob(["##....", "#.....", "......", "...###", "...###", "...###"])).toBe(true);
  });
  it("one dark pixel between them (distance 2) is not detached", () => {
    expect(blob(["##....", "#.....", "..####", "..####", "..####", "..####"])).toBe(false);
  });
  it("2 pixels are too few", () => {
    expect(blob(["##....", "......", "......", "...###", "...###", "...###"])).toBe(false);
  });
  it("diagonal neighbours join (8-connectivity)", () => {
    const { components } = brightComponents(draw(["#..", ".#.", "..#"]).grey, 3, 3);
    expect(components.length).toBe(1);
  });
  it("100 is bright and 99 is dark", () => {
    expect(blob(["++....", "+.....", "......", "...###", "...###", "...###"])).toBe(true);
    expect(blob(["--....", "-.....", "......", "...###", "...###", "...###"])).toBe(false);
  });
  it("an image of one component, or none, has no blob", () => {
    expect(blob(["......", ".####.", ".####."])).toBe(false);
    expect(blob(["......", "......"])).toBe(false);
  });
  it("the Chebyshev distance is the smallest max(|dx|, |dy|) over pixel pairs, symmetric", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(99), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(99), { minLength: 1, maxLength: 6 }), (a, b) => {
        const d = chebyshevDistance(a, b, 10);
        expect(d).toBe(chebyshevDistance(b, a, 10));
        let brute = Infinity;
        for (const p of a) for (const q of b) brute = Math.min(brute, Math.max(Math.abs((p % 10) - (q % 10)), Math.abs(Math.floor(p / 10) - Math.floor(q / 10))));
        expect(d).toBe(brute);
      }),
    );
  });
});
