/**
 * Drawing token images as RGBA pixels (no file format here: the CLI encodes PNG, the web page draws
 * on a canvas). Masked tokens are drawn as a neutral grey checker.
 */
import type { RGBAImage } from "../pipeline/images.js";
import { PALETTE, SPRITE_SIZE } from "./pixelArt.js";

/** The package's one image type (`RGBAImage`, shared with the pipeline); this older name is kept as an alias. */
export type RgbaImage = RGBAImage;

/**
 * Creates an image filled with one colour.
 *
 * @example
 * ```ts
 * blankImage(2, 1, [0, 0, 0]).data; // [0, 0, 0, 255, 0, 0, 0, 255]
 * ```
 */
export function blankImage(width: number, height: number, rgb: readonly [number, number, number]): RGBAImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  return { width, height, data };
}

/**
 * Draws one sprite's tokens (N = 256, tokens in [0, PALETTE.length]; PALETTE.length is the mask)
 * at (x0, y0), each token a scale × scale square; pixels outside the image are skipped.
 *
 * @example
 * ```ts
 * const image = blankImage(128, 128, [0, 0, 0]);
 * drawTokens(image, PIXEL_ART[0].tokens, 0, 0, 8); // the first sprite, 8× magnified
 * ```
 */
export function drawTokens(image: RGBAImage, tokens: ArrayLike<number | bigint>, x0: number, y0: number, scale: number): void {
  for (let ty = 0; ty < SPRITE_SIZE; ty++) {
    for (let tx = 0; tx < SPRITE_SIZE; tx++) {
      const token = Number(tokens[ty * SPRITE_SIZE + tx]);
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const x = x0 + tx * scale + dx;
          const y = y0 + ty * scale + dy;
          if (x < 0 || y < 0 || x >= image.width || y >= image.height) continue;
          const rgb = token < PALETTE.length ? PALETTE[token] : maskColour(x, y);
          image.data.set([rgb[0], rgb[1], rgb[2], 255], (y * image.width + x) * 4);
        }
      }
    }
  }
}

function maskColour(x: number, y: number): readonly [number, number, number] {
  return ((x >> 2) + (y >> 2)) % 2 === 0 ? [170, 170, 170] : [120, 120, 120];
}

/** Layout of {@link composeSheet}. */
export interface SheetLayout {
  /** Pixels per token. */
  scale: number;
  /** Gap between frames, and around the sheet. */
  gap: number;
}

/**
 * One row per image: its intermediate frames left to right, then (after a wider gap) the final image.
 *
 * @param rows - per image, the frames (each N = 256 tokens); the last frame is the final image.
 *
 * @example
 * ```ts
 * const { frames } = await samplePixelArt({ seed: 7 });
 * const sheet = composeSheet(frames); // RGBA, ready for a PNG encoder or a canvas
 * ```
 */
export function composeSheet(rows: readonly (readonly ArrayLike<number | bigint>[])[], layout: SheetLayout = { scale: 6, gap: 6 }): RGBAImage {
  const frames = Math.max(...rows.map((r) => r.length));
  const side = SPRITE_SIZE * layout.scale;
  const width = layout.gap + frames * (side + layout.gap) + layout.gap * 2;
  const height = layout.gap + rows.length * (side + layout.gap);
  const image = blankImage(width, height, [40, 42, 54]);
  rows.forEach((frameList, r) => {
    frameList.forEach((tokens, f) => {
      const extra = f === frameList.length - 1 ? layout.gap * 2 : 0;
      drawTokens(image, tokens, layout.gap + f * (side + layout.gap) + extra, layout.gap + r * (side + layout.gap), layout.scale);
    });
  });
  return image;
}
