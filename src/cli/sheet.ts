/**
 * The CLI's sheet of a generation: P prompts × I images. Each prompt's images form a block of C
 * columns (C = I up to 8 images, else ⌈√I⌉: `--images 16` gives 4 × 4, not one row of 16); with
 * several prompts each block is headed by its label ("2. ankle boot"), drawn with labelFont.ts, so that
 * a sheet says which images came from which prompt.
 */
import { shortText } from "../errors.js";
import { composeImageSheet, type RGBAImage } from "../pipeline/images.js";
import { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT } from "./labelFont.js";

/** Pixels between cells and around the sheet. */
export const SHEET_GAP = 4;
/** Font pixels are drawn this many sheet pixels wide. */
const LABEL_SCALE = 2;
const LABEL_HEIGHT = GLYPH_HEIGHT * LABEL_SCALE + SHEET_GAP;
const INK: readonly [number, number, number] = [40, 40, 40];

/**
 * Columns of one prompt's block: all I images in a row up to 8, else a near-square grid.
 *
 * @example
 * ```ts
 * sheetColumns(4); // 4
 * sheetColumns(16); // 4
 * ```
 */
export function sheetColumns(imagesPerPrompt: number): number {
  return imagesPerPrompt <= 8 ? imagesPerPrompt : Math.ceil(Math.sqrt(imagesPerPrompt));
}

/**
 * Lays out P · I images (prompt-major, as `generate` returns them), each magnified `scale` times.
 *
 * @param labels - one per prompt (P = labels.length); drawn only when P > 1.
 * @returns the sheet, white background.
 * @example
 * ```ts
 * const sheet = generationSheet(images, ["ankle boot", "bag"], 16, 4); // two labelled 4×4 blocks
 * ```
 */
export function generationSheet(images: readonly RGBAImage[], labels: readonly string[], imagesPerPrompt: number, scale: number): RGBAImage {
  const P = labels.length;
  const columns = sheetColumns(imagesPerPrompt);
  const blocks = labels.map((_, p) => composeImageSheet(images.slice(p * imagesPerPrompt, (p + 1) * imagesPerPrompt), { columns, scale, gap: SHEET_GAP }));
  const width = blocks[0].width;
  const label = P > 1 ? LABEL_HEIGHT : 0;
  // Blocks share their outer gap: each block's bottom gap is the next one's top.
  const blockHeight = blocks[0].height - SHEET_GAP;
  const height = P * (label + blockHeight) + SHEET_GAP;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  const maxChars = Math.max(1, Math.floor((width - 2 * SHEET_GAP) / (GLYPH_ADVANCE * LABEL_SCALE)));
  blocks.forEach((block, p) => {
    const top = p * (label + blockHeight);
    if (P > 1) drawText(data, width, SHEET_GAP, top + SHEET_GAP, shortText(`${p + 1}. ${labels[p]}`, maxChars), LABEL_SCALE, INK, width - 2 * SHEET_GAP);
    data.set(block.data.subarray(0, blockHeight * width * 4), (top + label) * width * 4);
  });
  return { data, width, height };
}
