/**
 * The CLI's sheet (issue 31, item 14): `--images 16` is a 4 × 4 grid, not one 1 860-pixel row, and
 * several prompts give blocks headed by their label, drawn with the 3×5 font.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pngjs from "pngjs";
import { describe, expect, it } from "vitest";
import { main, type CliIO } from "../src/cli/main.js";
import { drawText, glyph } from "../src/cli/labelFont.js";
import { generationSheet, sheetColumns } from "../src/cli/sheet.js";

/** A w × h image of one grey level. */
const flat = (level: number, w = 16, h = 16) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4).fill(level) });
/** Whether any pixel of rows [y0, y1) is not white. */
const inked = (im: { data: Uint8ClampedArray; width: number }, y0: number, y1: number) => {
  for (let i = y0 * im.width * 4; i < y1 * im.width * 4; i++) if (im.data[i] !== 255) return true;
  return false;
};

describe("layout", () => {
  it("one row up to 8 images per prompt, else a near-square grid", () => {
    expect([1, 2, 4, 8, 9, 10, 16, 64].map(sheetColumns)).toEqual([1, 2, 4, 8, 3, 4, 4, 8]);
  });

  it("16 images of one prompt: a 4 × 4 grid, no label", () => {
    const sheet = generationSheet(Array.from({ length: 16 }, () => flat(100)), ["bag"], 16, 1);
    expect([sheet.width, sheet.height]).toEqual([4 + 4 * 20, 4 + 4 * 20]);
    expect(inked(sheet, 0, 4)).toBe(false); // the top gap: no label
  });

  it("two prompts: two blocks, each headed by its numbered label", () => {
    const images = [...Array.from({ length: 16 }, () => flat(100)), ...Array.from({ length: 16 }, () => flat(150))];
    const sheet = generationSheet(images, ["ankle boot", "bag"], 16, 1);
    const block = 14 + 4 * 20; // label strip, then 4 rows of 16-pixel cells with 4-pixel gaps
    expect([sheet.width, sheet.height]).toEqual([84, 4 + 2 * block]);
    // 84 pixels hold 9 characters of 8 pixels: a longer label is shortened with "...".
    for (const [p, text] of [[0, "1. ank..."], [1, "2. bag"]] as const) {
      const top = p * block;
      // The label strip holds exactly the label's glyphs, drawn at (4, top + 4) in font pixels of 2.
      const expected = new Uint8ClampedArray(84 * 10 * 4).fill(255);
      drawText(expected, 84, 4, 0, text, 2, [40, 40, 40], 76);
      expect(sheet.data.subarray((top + 4) * 84 * 4, (top + 14) * 84 * 4)).toEqual(expected);
      expect(inked(sheet, top + 4, top + 14)).toBe(true);
      // The block's first image row starts under the strip and its gap.
      expect(sheet.data[4 * ((top + 18) * 84 + 4)]).toBe(p === 0 ? 100 : 150);
    }
  });
});

describe("the 3×5 font", () => {
  it("draws letters as capitals, accented ones without the accent, unknown characters as ?", () => {
    expect(glyph("a")).toBe(glyph("A"));
    expect(glyph("靴")).toBe(glyph("?"));
    expect(glyph("à")).toBe(glyph("A"));
    const cell = new Uint8ClampedArray(3 * 5 * 4).fill(255);
    drawText(cell, 3, 0, 0, "H", 1, [0, 0, 0], 3);
    expect(Array.from({ length: 15 }, (_, i) => (cell[4 * i] === 0 ? "1" : "0")).join("")).toBe("101101111101101");
  });
});

describe("the CLI", () => {
  it("--images 16 with two prompts writes two labelled 4 × 4 blocks", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "vqd-sheet-")), "grid.png");
    const said: string[] = [];
    const io: CliIO = { stdout: (t) => void said.push(t), stderr: () => {}, stderrIsTTY: false };
    expect(await main(["generate", "--prompt", "bag", "--prompt", "ankle boot", "--images", "16", "--steps", "1", "--out", out], io)).toBe(0);
    const png = pngjs.PNG.sync.read(readFileSync(out));
    // fashion-mnist: 28-pixel images magnified 4× (112 pixels).
    expect([png.width, png.height]).toEqual([4 + 4 * 116, 4 + 2 * (14 + 4 * 116)]);
    expect(said.join("")).toContain("one labelled block per prompt");
  });
});
