/**
 * How a split step cuts an image's N pixels among threads: consecutive ranges, each starting at a
 * multiple of 4 (the WASM kernels' SIMD lanes, so that every pixel is computed exactly as in the
 * whole-image step), as even as that allows; the last range ends at N. Fewer ranges than threads
 * when N is small (never an empty range). The first range can be given a smaller share: the calling
 * thread, which takes it, also copies the model output for the others.
 */
import type { PixelRange } from "../stepProblem.js";

/** Pixels per SIMD group: range starts are multiples of it. */
const LANES = 4;

/**
 * @param N - pixels per image, ≥ 1.
 * @param threads - threads to split over, ≥ 1.
 * @param firstWeight - the first range's share relative to each other range's 1 (default 1: even).
 * @returns between 1 and `threads` ranges covering [0, N) in order.
 *
 * @example
 * ```ts
 * splitPixels(10, 3); // [{ n0: 0, n1: 4 }, { n0: 4, n1: 8 }, { n0: 8, n1: 10 }]
 * ```
 */
export function splitPixels(N: number, threads: number, firstWeight = 1): PixelRange[] {
  const groups = Math.ceil(N / LANES);
  const parts = Math.max(1, Math.min(threads, groups));
  const total = firstWeight + parts - 1;
  // Range k ends at the boundary ⌊groups · (firstWeight + k) / total⌋ (k < parts − 1), kept ≥ k + 1
  // and ≤ groups − (parts − 1 − k) so that no range is empty.
  const end = (k: number) => (k === parts - 1 ? groups : Math.min(groups - (parts - 1 - k), Math.max(k + 1, Math.floor((groups * (firstWeight + k)) / total))));
  const ranges: PixelRange[] = [];
  for (let k = 0, g0 = 0; k < parts; k++) {
    const g1 = end(k);
    ranges.push({ n0: g0 * LANES, n1: Math.min(g1 * LANES, N) });
    g0 = g1;
  }
  return ranges;
}
