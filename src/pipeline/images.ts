/**
 * Decoded images to pixels (diffusers' `VQDiffusionPipeline.__call__` and `numpy_to_pil`):
 *   v = clamp(x / 2 + 0.5, 0, 1);  level = round(v · 255)   (float32 arithmetic, numpy's rounding)
 * channels last, as RGBA: a grey image (C = 1) gives R = G = B, and alpha is 255.
 */
import { roundHalfEven } from "../schedule/timestepSpacing.js";

/** An image as the DOM's `ImageData` holds one: RGBA bytes, row-major. */
export interface RGBAImage {
  readonly data: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/**
 * @param decoded - the decoder's output, [B, C, H, W] flat, C = 1 or 3.
 * @returns B images.
 */
export function toRGBAImages(decoded: Float32Array, B: number, C: number, H: number, W: number): RGBAImage[] {
  const images: RGBAImage[] = [];
  const plane = H * W;
  for (let b = 0; b < B; b++) {
    const data = new Uint8ClampedArray(4 * plane);
    for (let c = 0; c < 3; c++) {
      const src = (b * C + (C === 1 ? 0 : c)) * plane;
      for (let i = 0; i < plane; i++) data[4 * i + c] = toLevel(decoded[src + i]);
    }
    for (let i = 0; i < plane; i++) data[4 * i + 3] = 255;
    images.push({ data, width: W, height: H });
  }
  return images;
}

/** One value: x / 2 + 0.5 clamped to [0, 1], times 255, rounded half to even (each step in float32). */
export function toLevel(x: number): number {
  const v = Math.min(1, Math.max(0, Math.fround(Math.fround(x / 2) + 0.5)));
  return roundHalfEven(Math.fround(v * 255));
}
