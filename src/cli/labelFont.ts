/**
 * A 3×5 pixel font for the labels of the CLI's sheets (printable ASCII; letters drawn as capitals,
 * accented letters without their accent, any other character as "?"), so that a sheet of several prompts says which row is which without a font
 * file or a canvas. Each glyph is 5 rows of 3 pixels, "1" = ink.
 */

const GLYPHS: Readonly<Record<string, string>> = {
  A: "010101111101101", B: "110101110101110", C: "011100100100011", D: "110101101101110", E: "111100110100111",
  F: "111100110100100", G: "011100101101011", H: "101101111101101", I: "111010010010111", J: "001001001101010",
  K: "101101110101101", L: "100100100100111", M: "101111111101101", N: "110101101101101", O: "010101101101010",
  P: "110101110100100", Q: "010101101110011", R: "110101110101101", S: "011100010001110", T: "111010010010010",
  U: "101101101101111", V: "101101101101010", W: "101101111111101", X: "101101010101101", Y: "101101010010010",
  Z: "111001010100111", "0": "111101101101111", "1": "010110010010111", "2": "110001010100111", "3": "110001010001110",
  "4": "101101111001001", "5": "111100110001110", "6": "011100111101111", "7": "111001010010010", "8": "111101111101111",
  "9": "111101111001110", " ": "000000000000000", ".": "000000000000010", ",": "000000000010100", ":": "000010000010000",
  ";": "000010000010100", "!": "010010010000010", "?": "110001010000010", "-": "000000111000000", _: "000000000000111",
  "'": "010010000000000", '"': "101101000000000", "(": "001010010010001", ")": "100010010010100", "/": "001001010100100",
  "+": "000010111010000", "=": "000111000111000", "*": "000101010101000", "#": "101111101111101", "&": "010101010101011",
  "%": "101001010100101", "<": "001010100010001", ">": "100010001010100", "[": "011010010010011", "]": "110010010010110",
  "|": "010010010010010",
};

/** Glyph width and height in font pixels, and the advance (a pixel of space between glyphs). */
export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;
export const GLYPH_ADVANCE = 4;

/**
 * The glyph of one character: 15 flags, row-major (letters as capitals; unknown characters as "?").
 *
 * @example
 * ```ts
 * glyph("i") === glyph("I"); // true
 * ```
 */
export function glyph(char: string): string {
  const base = char.normalize("NFD")[0] ?? char; // à → a: the letter without its accent
  return GLYPHS[base.toUpperCase()] ?? GLYPHS[base] ?? GLYPHS["?"];
}

/**
 * Draws `text` into RGBA pixels at (x, y), each font pixel a `scale` × `scale` square of `colour`;
 * characters past `maxWidth` pixels are left out (the caller shortens the text first).
 *
 * @param target - RGBA bytes, row-major, `width` pixels per row (changed in place: the caller's own sheet).
 * @example
 * ```ts
 * drawText(sheet.data, sheet.width, 4, 4, "1. ankle boot", 2, [40, 40, 40], 200);
 * ```
 */
export function drawText(
  target: Uint8ClampedArray,
  width: number,
  x: number,
  y: number,
  text: string,
  scale: number,
  colour: readonly [number, number, number],
  maxWidth: number,
): void {
  const height = target.length / 4 / width;
  Array.from(text).forEach((char, k) => {
    const x0 = x + k * GLYPH_ADVANCE * scale;
    if (x0 + GLYPH_WIDTH * scale > x + maxWidth) return;
    const bits = glyph(char);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (bits[gy * GLYPH_WIDTH + gx] !== "1") continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x0 + gx * scale + dx;
            const py = y + gy * scale + dy;
            if (px < 0 || px >= width || py < 0 || py >= height) continue;
            target.set([colour[0], colour[1], colour[2], 255], 4 * (py * width + px));
          }
        }
      }
    }
  });
}
