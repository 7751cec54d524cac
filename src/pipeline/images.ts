/**
 * Decoded images to pixels (diffusers' `VQDiffusionPipeline.__call__` and `numpy_to_pil`):
 *   v = clamp(x / 2 + 0.5, 0, 1);  level = round(v · 255)   (float32 arithmetic, numpy's rounding)
 * channels last, as RGBA: a grey image (C = 1) gives R = G = B, and alpha is 255.
 */
import { roundHalfEven } from "../schedule/timestepSpacing.js";

/** An image as the DOM's `ImageData` holds one: RGBA bytes, row-major. */
export interface RGBAImage {
  readonly data: Uint8ClampedArray<ArrayBuffer>;
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

/**
 * Lays images out on one sheet: `columns` per row, each magnified `scale` times (nearest
 * neighbour), separated by `gap` pixels of `background`.
 *
 * @example
 * ```ts
 * const sheet = composeImageSheet(images, { columns: 4, scale: 4 }); // 28×28 images → 112×112 cells
 * ```
 */
export function composeImageSheet(
  images: readonly RGBAImage[],
  options: { columns?: number; scale?: number; gap?: number; background?: readonly [number, number, number] } = {},
): RGBAImage {
  if (images.length === 0) throw new Error("images: expected at least one image, got none");
  const { width: w, height: h } = images[0];
  if (images.some((im) => im.width !== w || im.height !== h)) throw new Error("images: expected images of one size, got several sizes");
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 0;
  const columns = Math.min(options.columns ?? images.length, images.length);
  const rows = Math.ceil(images.length / columns);
  const [r, g, b] = options.background ?? [255, 255, 255];
  const width = columns * w * scale + (columns + 1) * gap;
  const height = rows * h * scale + (rows + 1) * gap;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([r, g, b, 255], 4 * i);
  images.forEach((im, k) => {
    const x0 = gap + (k % columns) * (w * scale + gap);
    const y0 = gap + Math.floor(k / columns) * (h * scale + gap);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const src = 4 * (Math.floor(y / scale) * w + Math.floor(x / scale));
        data.set(im.data.subarray(src, src + 4), 4 * ((y0 + y) * width + x0 + x));
      }
    }
  });
  return { data, width, height };
}
