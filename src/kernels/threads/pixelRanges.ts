/**
 * How a split step cuts an image's N pixels among threads: consecutive ranges, each starting at a
 * multiple of 4 (the WASM kernels' SIMD lanes, so that every pixel is computed exactly as in the
 * whole-image step), as even as that allows; the last range ends at N. Fewer ranges than threads
 * when N is small (never an empty range).
 */
import type { PixelRange } from "../stepProblem.js";

/** Pixels per SIMD group: range starts are multiples of it. */
const LANES = 4;

/**
 * @param N - pixels per image, ≥ 1.
 * @param threads - threads to split over, ≥ 1.
 * @returns between 1 and `threads` ranges covering [0, N) in order.
 *
 * @example
 * ```ts
 * splitPixels(10, 3); // [{ n0: 0, n1: 4 }, { n0: 4, n1: 8 }, { n0: 8, n1: 10 }]
 * ```
 */
export function splitPixels(N: number, threads: number): PixelRange[] {
  const groups = Math.ceil(N / LANES);
  const parts = Math.max(1, Math.min(threads, groups));
  const ranges: PixelRange[] = [];
  for (let k = 0; k < parts; k++) {
    const g0 = Math.floor((k * groups) / parts);
    const g1 = Math.floor(((k + 1) * groups) / parts);
    ranges.push({ n0: g0 * LANES, n1: Math.min(g1 * LANES, N) });
  }
  return ranges;
}
