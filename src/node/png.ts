/**
 * PNG encoding of the pipeline's images (Node.js: pngjs writes Buffers). The CLI writes its sheets
 * with it and the server answers with it, so that the same pixels give the same bytes in both.
 */
import pngjs from "pngjs";
import type { RGBAImage } from "../pipeline/images.js";

/**
 * Encodes an RGBA image as PNG bytes (deterministic: the same pixels give the same bytes).
 *
 * @param image - RGBA bytes, row-major, `width × height × 4`.
 * @returns the PNG file's bytes (8-bit RGBA, pngjs' default filter and deflate level).
 *
 * @example
 * ```ts
 * const png = encodePng({ data: new Uint8ClampedArray(4 * 28 * 28).fill(255), width: 28, height: 28 });
 * png.subarray(1, 4).toString(); // "PNG"
 * ```
 */
export function encodePng(image: RGBAImage): Buffer {
  const png = new pngjs.PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return pngjs.PNG.sync.write(png);
}
